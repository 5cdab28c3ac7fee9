"""Orchestration benchmark: a story of 4 independent tasks, developed by 4 developer instances and by 1.

The story's repository has four modules, each with its test; its cassette plans four tasks (no
dependencies) and answers each task's developer call after a simulated model latency (`latency_ms`,
2 s by default). `wave run` drives it embedded, once with `WAVE_DEVELOPER_CONCURRENCY=4` (four tasks
at once) and once with 1. The figure is the fan-out's wall time — from the run's workspace to the
last task's change written (`WorkspaceReady` → the last `ChangeProposed`), the work the developer
instances share — with 4 instances as a percentage of the same with 1. The fan-in (each change scored
and integrated on the one run branch, in turn) and the whole runs' times (QA's test run and the merge,
which fan-out does not shorten) are figures and detail beside it.

Distributed (`orchestration.fanout_speedup.distributed`): the same story on PostgreSQL and Kafka,
every role its own process (a scratch database and topics of its own), written once by one developer
process and once by four, each with `WAVE_DEVELOPER_CONCURRENCY=1`, so whatever runs side by side
runs in different processes: the tasks reach them through the work topic. The other roles' processes
stay up between the two; the developers are replaced, and the four have all joined the work group
before the run starts.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml
from figures import Figure, Target

ROOT = Path(__file__).resolve().parents[1]
TASKS = ("alpha", "beta", "gamma", "delta")


@dataclass(frozen=True)
class Sizes:
    latency_ms: int


FULL = Sizes(latency_ms=2_000)
QUICK = Sizes(latency_ms=1_000)

TARGETS: dict[str, Target] = {
    "orchestration.fanout_speedup": Target(40, None),
    "orchestration.fanout_speedup.distributed": Target(40, None),
}
OTHER_ROLES = ("planner", "gitops", "safety", "qa", "notifier")


def _commit(repo: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "start"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)


def story_repo(path: Path) -> None:
    """Four modules, each with a test; a task adds one function to one module."""
    (path / "calc").mkdir(parents=True)
    (path / "tests").mkdir()
    (path / "pyproject.toml").write_text('[project]\nname = "calc"\nversion = "0.1.0"\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    (path / "calc" / "__init__.py").write_text("")
    for name in TASKS:
        (path / "calc" / f"{name}.py").write_text(f'"""The {name} module."""\n\n\ndef base() -> int:\n    return 1\n')
        (path / "tests" / f"test_{name}.py").write_text(f"from calc.{name} import base\n\n\ndef test_base():\n    assert base() == 1\n")
    _commit(path)


def _diff(name: str) -> str:
    return (
        f"--- a/calc/{name}.py\n+++ b/calc/{name}.py\n@@ -3,3 +3,7 @@\n \n def base() -> int:\n     return 1\n"
        f"+\n+\n+def twice() -> int:\n+    return 2 * base()\n"
    )


def cassette(path: Path, latency_ms: int) -> None:
    plan = {"feasible": True, "summary": "four independent functions", "tasks": [
        {"task_id": name, "domain": "api", "description": f"add twice() to calc/{name}.py",
         "acceptance_criteria": ["twice() == 2"], "files_of_interest": [f"calc/{name}.py"]}
        for name in TASKS
    ]}
    usage = {"input_tokens": 1000, "output_tokens": 200, "model": "claude-sonnet-4-5"}
    interactions = [{"role": "planner", "response": {"text": json.dumps(plan), **usage}}]
    interactions += [
        {"role": "developer", "task": name,
         "response": {"text": f"Rationale: twice().\n```diff\n{_diff(name)}```\n", **usage, "latency_ms": latency_ms}}
        for name in TASKS
    ]
    path.write_text(yaml.safe_dump({"version": 1, "interactions": interactions}, sort_keys=False))


def _wave(home: Path, *args: str, concurrency: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAVE_", "ANTHROPIC_", "OPENAI_", "XAI_"))}
    env.update(WAVE_HOME=str(home), WAVE_DEVELOPER_CONCURRENCY=str(concurrency))
    return subprocess.run([sys.executable, "-m", "wave_cli", *args], capture_output=True, text=True, env=env,
                          timeout=900, cwd=ROOT)


@dataclass(frozen=True)
class Timing:
    fanout_s: float  # WorkspaceReady → the last ChangeProposed: every task written
    integrated_s: float  # WorkspaceReady → the last ChangeCommitted: every task on the run branch
    run_s: float  # RunRequested → RunCompleted


def spans(events: list[dict]) -> Timing:
    """The fan-out's and the whole run's wall times, from the events' times."""
    def at(event: dict) -> datetime:
        return datetime.fromisoformat(event["occurred_at"])

    first = {e["type"]: at(e) for e in reversed(events)}
    proposed = [at(e) for e in events if e["type"] == "ChangeProposed"]
    committed = [at(e) for e in events if e["type"] == "ChangeCommitted"]
    if "WorkspaceReady" not in first or not committed or not proposed or "RunCompleted" not in first:
        raise ValueError("the run did not get from its workspace to completion")
    ready = first["WorkspaceReady"]
    return Timing((max(proposed) - ready).total_seconds(), (max(committed) - ready).total_seconds(),
                  (first["RunCompleted"] - first["RunRequested"]).total_seconds())


def run_story(work: Path, concurrency: int, latency_ms: int) -> Timing:
    repo, home = work / f"repo-{concurrency}", work / f"home-{concurrency}"
    story_repo(repo)
    tape = work / "cassette.yml"
    cassette(tape, latency_ms)
    run = _wave(home, "run", "add twice() to each calc module", "--repo", str(repo), "--cassette", str(tape), "--json",
                concurrency=concurrency)
    if run.returncode != 0:
        raise OSError(f"wave run ({concurrency} instance(s)) exited {run.returncode}: {run.stderr[-2000:]}")
    run_id = json.loads(run.stdout)["run_id"]
    events = json.loads(_wave(home, "events", run_id, "--json", concurrency=concurrency).stdout)
    return spans(events)


def speedup(parallel: Timing, single: Timing) -> float:
    """The parallel fan-out's wall time as a percentage of the one-instance one."""
    if single.fanout_s <= 0:
        raise ValueError("the one-instance fan-out took no time")
    return parallel.fanout_s / single.fanout_s * 100


async def distributed(url: str, bootstrap: str, latency_ms: int) -> tuple[Timing, Timing]:
    """The story written by one developer process, then by four (each one task at a time)."""
    from fault_procs import Deployment, group_is_stable, until
    from runtime_bench import _delete_topics
    from scratch_db import scratch_databases
    from wave_app import commands
    from wave_events import run_stream_id
    from wave_events.projections import fold
    from wave_llm import cassette_document, load_cassette
    from wave_runtime.kafka import Topics, ensure_topics
    from wave_store.postgres import PostgresEventStore

    topics = Topics(f"wavebench.{secrets.token_hex(4)}.fanout")
    with tempfile.TemporaryDirectory(prefix="wave-fanout-distributed-") as scratch:
        work = Path(scratch)
        tape = work / "cassette.yml"
        cassette(tape, latency_ms)
        played = cassette_document(load_cassette(tape))
        extra = {"WAVE_HOME": str(work / "home"), "WAVE_QA_SCRATCH_ROOT": str(work / "qa"),
                 "WAVE_DEVELOPER_CONCURRENCY": "1", "WAVE_RETRY_BASE_S": "0.2", "WAVE_RETRY_CAP_S": "1"}  # fmt: skip
        deployment = Deployment("", bootstrap, topics.prefix, work)
        try:
            async with scratch_databases(url, "fanout") as urls:
                await ensure_topics(bootstrap, topics)
                deployment = Deployment(urls["fanout"], bootstrap, topics.prefix, work)
                store = await PostgresEventStore.connect(urls["fanout"], max_size=2)
                try:
                    deployment.relay().start(**extra)
                    for role in OTHER_ROLES:
                        deployment.service(f"wave_{role}:create_service", role).start(**extra)
                    timings = []

                    def developers(count: int) -> list:
                        names = [f"developer-{count}-{i}" for i in range(count)]
                        return [deployment.service("wave_developer:create_service", name).start(
                            **extra, WAVE_INSTANCE=name, WAVE_DEVELOPER_SCRATCH_ROOT=str(work / name)) for name in names]

                    serving = developers(1)
                    for count in (1, 4):
                        await until(lambda n=count: group_is_stable(bootstrap, topics.work_group("developer"), n),
                                    timeout=120, interval=0.25)
                        repo = work / f"repo-{count}"
                        story_repo(repo)
                        run_id = await commands.submit_run(store, actor="bench", story="add twice() to each calc module",
                                                           repo=str(repo), budget_usd=1.0, cassette=played)

                        async def state(run_id: str = run_id):
                            return fold(await store.read_stream(run_stream_id(run_id)))

                        if count == 1:
                            # Every task written: the four processes start (and join) while the run's
                            # QA and merge go on; the one process leaves once they are up.
                            await until(lambda: _all_written(state), timeout=300, interval=0.25)
                            leaving, serving = serving, developers(4)
                        await until(lambda: _ended(state), timeout=300, interval=0.25)
                        if count == 1:
                            for developer in leaving:
                                developer.stop()
                        events = await store.read_stream(run_stream_id(run_id))
                        timings.append(spans([{"type": e.type, "occurred_at": e.occurred_at.isoformat()} for e in events]))
                finally:
                    deployment.stop_all()
                    await store.close()
        except TimeoutError as exc:
            raise OSError(f"the distributed fan-out did not finish; logs:\n{deployment.logs()}") from exc
        finally:
            await _delete_topics(bootstrap, topics.prefix)
    return timings[0], timings[1]


async def _all_written(state) -> bool:
    run = await state()
    return run.planned and all(t.proposal_event_id for t in run.tasks.values())


async def _ended(state) -> bool:
    return (await state()).status not in ("running", "unknown")


async def measure(url: str, bootstrap: str, sizes: Sizes) -> tuple[list[Figure], dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="wave-fanout-") as scratch:
        work = Path(scratch)
        single = run_story(work, 1, sizes.latency_ms)
        parallel = run_story(work, 4, sizes.latency_ms)
    ratio = speedup(parallel, single)
    detail = (
        f"4 tasks, {sizes.latency_ms} ms per model answer, 4 developer instances vs 1: every task written in "
        f"{parallel.fanout_s:.2f} s vs {single.fanout_s:.2f} s; every task integrated in {parallel.integrated_s:.2f} s "
        f"vs {single.integrated_s:.2f} s; whole run {parallel.run_s:.2f} s vs {single.run_s:.2f} s"
    )
    found = [
        Figure("orchestration.fanout_speedup", ratio, "% of the 1-instance time", None, False, detail),
        Figure("orchestration.fanout_wall_s", parallel.fanout_s, "s", single.fanout_s, False, detail,
               peer_name="1 developer instance"),
        Figure("orchestration.fanin_wall_s", parallel.integrated_s, "s", single.integrated_s, False, detail,
               peer_name="1 developer instance"),
    ]
    one, four = await distributed(url, bootstrap, sizes.latency_ms)
    detail = (
        f"distributed (PostgreSQL, Kafka, a process per role): 4 tasks, {sizes.latency_ms} ms per model answer, "
        f"4 developer processes vs 1, each writing one task at a time: every task written in {four.fanout_s:.2f} s "
        f"vs {one.fanout_s:.2f} s; whole run {four.run_s:.2f} s vs {one.run_s:.2f} s; load average {os.getloadavg()[0]:.1f}"
    )
    found += [
        Figure("orchestration.fanout_speedup.distributed", speedup(four, one), "% of the 1-process time", None,
               False, detail),
        Figure("orchestration.fanout_wall_s.distributed", four.fanout_s, "s", one.fanout_s, False, detail,
               peer_name="1 developer process"),
    ]
    return found, {}
