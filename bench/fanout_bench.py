"""Orchestration benchmark: a story of 4 independent tasks, developed by 4 developer instances and by 1.

The story's repository has four modules, each with its test; its cassette plans four tasks (no
dependencies) and answers each task's developer call after a simulated model latency (`latency_ms`,
2 s by default). `wave run` drives it embedded, once with `WAVE_DEVELOPER_CONCURRENCY=4` (four tasks
at once) and once with 1. The figure is the fan-out's wall time — from the run's workspace to the
last task's change written (`WorkspaceReady` → the last `ChangeProposed`), the work the developer
instances share — with 4 instances as a percentage of the same with 1. The fan-in (each change scored
and integrated on the one run branch, in turn) and the whole runs' times (QA's test run and the merge,
which fan-out does not shorten) are figures and detail beside it.
"""

from __future__ import annotations

import json
import os
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

TARGETS: dict[str, Target] = {"orchestration.fanout_speedup": Target(40, None)}


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


async def measure(sizes: Sizes) -> tuple[list[Figure], dict[str, object]]:
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
    return [
        Figure("orchestration.fanout_speedup", ratio, "% of the 1-instance time", None, False, detail),
        Figure("orchestration.fanout_wall_s", parallel.fanout_s, "s", single.fanout_s, False, detail,
               peer_name="1 developer instance"),
        Figure("orchestration.fanin_wall_s", parallel.integrated_s, "s", single.integrated_s, False, detail,
               peer_name="1 developer instance"),
    ], {}
