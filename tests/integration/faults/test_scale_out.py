"""Scale-out, shown with processes: what the Kubernetes manifests promise (a Deployment per role,
replicas in the role's consumer group) done here without a cluster.

Three developer instances and two QA instances, each its own process in its consumer group
(`<prefix>.developer`, `<prefix>.qa`), with one planner, gitops, safety and notifier and the relay,
over the shared PostgreSQL and Kafka (an events topic of 6 partitions, the default). 30 runs of the
demo story are submitted at once; the developer's answers take 1 s each (a latency the cassette
simulates, as a real model's). Halfway through the developer's work one developer instance is
killed (-9) and not replaced: its partitions move to the other two. Every run must merge, exactly
once, with every change proposed and every model call recorded once; the split of the work over
the instances is reported (`producer` = `<role>@<WAVE_INSTANCE>`)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pygit2
import pytest
from fault_procs import until
from wave_app import commands
from wave_cli.demo import demo_files, fresh_repository
from wave_events import run_stream_id
from wave_events.projections import fold
from wave_llm import cassette_document, load_cassette, with_latency
from wave_runtime.kafka import read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
RUNS = 30
DEVELOPERS, QAS = 3, 2
MODEL_LATENCY_MS = 1000
SINGLE = ("planner", "gitops", "safety", "notifier")


@pytest.mark.timeout(900)
async def test_thirty_runs_over_three_developers_and_two_qa_instances_one_developer_killed(
    stack, store, kafka_bootstrap, topics, tmp_path, figures
):
    extra = {"WAVE_HOME": str(tmp_path / "home"), "WAVE_RETRY_BASE_S": "0.2", "WAVE_RETRY_CAP_S": "1",
             "WAVE_QA_SCRATCH_ROOT": str(tmp_path / "qa")}  # fmt: skip
    children = {"relay": stack.relay().start(**extra)}
    for name in SINGLE:
        children[name] = stack.service(f"wave_{name}:create_service", name).start(**extra)
    for role, count in (("developer", DEVELOPERS), ("qa", QAS)):
        for i in range(1, count + 1):
            instance = f"{role}-{i}"
            children[instance] = stack.service(f"wave_{role}:create_service", instance).start(
                **extra, WAVE_INSTANCE=instance
            )

    files = demo_files(ROOT / "examples")
    story = files.story.read_text(encoding="utf-8").strip()
    cassette = cassette_document(with_latency(load_cassette(files.cassette), MODEL_LATENCY_MS, ("developer", "fixer")))
    repos = [fresh_repository(files.repo, tmp_path / "repos" / f"sample-{i}") for i in range(RUNS)]
    started = time.monotonic()
    run_ids = await asyncio.gather(*(
        commands.submit_run(store, actor="scale-test", story=story, repo=str(repo), budget_usd=1.0, cassette=cassette)
        for repo in repos
    ))  # fmt: skip

    # Halfway through the developer's work (a first attempt and a fix per run): one instance dies.
    await until(lambda: _count(store, "ChangeProposed", at_least=RUNS), timeout=600, interval=0.25)
    victim = children["developer-2"]
    victim.kill9()
    killed_at = time.monotonic()
    by_instance_at_kill = await _producers(store, "ChangeProposed")

    await until(lambda: _all_finished(store, run_ids), timeout=780, interval=0.5)
    minutes = (time.monotonic() - started) / 60
    streams = {r: await store.read_stream(run_stream_id(r)) for r in run_ids}
    states = {r: fold(events) for r, events in streams.items()}
    proposals = [(r, e.payload.task_id, e.payload.attempt) for r, es in streams.items() for e in es if e.type == "ChangeProposed"]
    calls_per_run = {r: Counter(e.payload.role for e in es if e.type == "LLMCallRecorded") for r, es in streams.items()}
    developer_split = await _producers(store, "ChangeProposed")
    qa_split = await _producers(store, "TestsPassed", "TestsFailed")
    merges = [_merges(repo) for repo in repos]
    dead_letters = await read_topic(kafka_bootstrap, topics.dlq)
    after_kill = {p: n - by_instance_at_kill.get(p, 0) for p, n in developer_split.items()}

    figures.report(
        runs=RUNS, merged=sum(1 for m in merges if m == 1), runs_per_minute=RUNS / minutes, minutes=minutes,
        developer_split=dict(sorted(developer_split.items())), developer_split_after_kill=dict(sorted(after_kill.items())),
        qa_split=dict(sorted(qa_split.items())), kill_to_done_s=time.monotonic() - killed_at,
        dead_letters=len(dead_letters),
    )  # fmt: skip
    assert {s.status for s in states.values()} == {"completed"}, Counter(s.status for s in states.values())
    assert merges == [1] * RUNS, "every run merges exactly once"
    assert len(proposals) == len(set(proposals)) == 2 * RUNS, "each change proposed once: a first attempt and a fix"
    # The demo run's calls: the plan, the developer's read and change, the fixer's change (the merge
    # policy approves without the reviewer); a call repeated by a re-delivery would show here.
    demo_calls = Counter({"planner": 1, "developer": 2, "fixer": 1})
    assert all(c == demo_calls for c in calls_per_run.values()), {r: c for r, c in calls_per_run.items() if c != demo_calls}
    assert dead_letters == []
    assert not await _count(store, "HandlingAbandoned", at_least=1)
    assert set(developer_split) == {f"developer@developer-{i}" for i in range(1, DEVELOPERS + 1)}
    assert after_kill.get("developer@developer-2", 0) == 0, "the killed instance stored nothing after its death"
    assert set(qa_split) == {f"qa@qa-{i}" for i in range(1, QAS + 1)}
    survivors = [c.name for c in children.values() if c is not victim and not c.alive]
    assert not survivors, f"these processes exited: {survivors}"


async def _count(store, event_type: str, *, at_least: int) -> bool:
    return await store.pool.fetchval("SELECT count(*) FROM events WHERE event_type = $1", event_type) >= at_least


async def _producers(store, *event_types: str) -> dict[str, int]:
    rows = await store.pool.fetch(
        "SELECT producer, count(*) AS n FROM events WHERE event_type = ANY($1::text[]) GROUP BY producer", list(event_types)
    )
    return {r["producer"]: r["n"] for r in rows}


async def _all_finished(store, run_ids: list[str]) -> bool:
    for run_id in run_ids:
        if fold(await store.read_stream(run_stream_id(run_id))).status in ("running", "unknown"):
            return False
    return True


def _merges(repo: Path) -> int:
    """Commits on main that carry a run's trailer: the squashed merge, once."""
    repository = pygit2.Repository(str(repo))
    return sum(1 for commit in repository.walk(repository.revparse_single("main").id) if "Wave-Run:" in commit.message)
