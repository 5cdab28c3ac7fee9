"""A run's independent tasks written by several developer instances (processes), distributed.

The developer that handles the run's fan-out hands each task off (`TaskWorkRequested`); the relay
publishes the requests to the work topic keyed by run and task, on consecutive partitions, and the
developer instances' work group (round-robin) takes them: the tasks are written by different
instances, while every other service still reads the run's events in order on the events topic.
The story is the fan-out benchmark's: four independent tasks, each answered after a simulated model
latency. The run must merge once with each change proposed once, the work split over at least two
instances (the `producer` each stored event names), and the recorded history must replay
(`wave replay --execute`'s re-execution) without a difference.

With a budget that fits only some of the calls, the instances' calls together never pass it (each
call's claim is checked on the run's stream), and the run stops on one budget question."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pygit2
import pytest
import yaml
from bench_modules import load_bench
from fault_procs import Deployment, group_is_stable, until
from wave_app import commands
from wave_app.replaying import reexecute
from wave_cli.replaying import every_service
from wave_events import run_stream_id
from wave_events.projections import fold
from wave_llm import cassette_document, load_cassette

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

load_bench("results")
load_bench("figures")
fanout = load_bench("fanout_bench")
DEVELOPERS = 3
SINGLE = ("planner", "gitops", "safety", "qa", "notifier")


async def start(stack: Deployment, tmp_path: Path, kafka_bootstrap: str, topics, developers: int, **env: str) -> dict:
    extra = {"WAVE_HOME": str(tmp_path / "home"), "WAVE_RETRY_BASE_S": "0.2", "WAVE_RETRY_CAP_S": "1",
             "WAVE_QA_SCRATCH_ROOT": str(tmp_path / "qa"), **env}  # fmt: skip
    children = {"relay": stack.relay().start(**extra)}
    for name in SINGLE:
        children[name] = stack.service(f"wave_{name}:create_service", name).start(**extra)
    for i in range(1, developers + 1):
        instance = f"developer-{i}"
        children[instance] = stack.service("wave_developer:create_service", instance).start(
            **extra, WAVE_INSTANCE=instance, WAVE_DEVELOPER_SCRATCH_ROOT=str(tmp_path / instance)
        )
    # Every instance in the work group before the run starts, or the first ones hold every partition.
    await until(lambda: group_is_stable(kafka_bootstrap, topics.work_group("developer"), developers), timeout=90, interval=0.5)
    return children


def story(tmp_path: Path, latency_ms: int, developer_usage: dict | None = None) -> tuple[Path, str]:
    repo, tape = tmp_path / "repo", tmp_path / "cassette.yml"
    fanout.story_repo(repo)
    fanout.cassette(tape, latency_ms)
    if developer_usage:
        document = yaml.safe_load(tape.read_text())
        for interaction in document["interactions"]:
            if interaction["role"] == "developer":
                interaction["response"].update(developer_usage)
        tape.write_text(yaml.safe_dump(document, sort_keys=False))
    return repo, cassette_document(load_cassette(tape))


async def finished(store, run_id: str) -> bool:
    return fold(await store.read_stream(run_stream_id(run_id))).status not in ("running", "unknown")


def merges(repo: Path) -> int:
    repository = pygit2.Repository(str(repo))
    return sum(1 for commit in repository.walk(repository.revparse_single("main").id) if "Wave-Run:" in commit.message)


@pytest.mark.timeout(600)
async def test_a_runs_independent_tasks_are_written_by_several_developer_instances(
    stack, store, kafka_bootstrap, topics, tmp_path, figures
):
    children = await start(stack, tmp_path, kafka_bootstrap, topics, DEVELOPERS, WAVE_DEVELOPER_CONCURRENCY="1")
    repo, cassette = story(tmp_path, latency_ms=1000)
    run_id = await commands.submit_run(store, actor="fanout-test", story="add twice() to each calc module",
                                       repo=str(repo), budget_usd=1.0, cassette=cassette)
    await until(lambda: finished(store, run_id), timeout=420, interval=0.5)

    events = await store.read_stream(run_stream_id(run_id))
    state = fold(events)
    proposed = [e for e in events if e.type == "ChangeProposed"]
    requests = [e for e in events if e.type == "TaskWorkRequested"]
    writers = Counter(e.producer for e in proposed)
    figures.report(writers=dict(sorted(writers.items())), events=len(events))
    assert state.status == "completed", state.outcome_reason
    assert merges(repo) == 1, "the run merges exactly once"
    assert sorted((e.payload.task_id, e.payload.attempt) for e in proposed) == [(t, 1) for t in sorted(fanout.TASKS)]
    assert sorted(e.payload.task_id for e in requests) == sorted(fanout.TASKS), "each task handed off once"
    assert set(writers) <= {f"developer@developer-{i}" for i in range(1, DEVELOPERS + 1)}
    assert len(writers) >= 2, f"the tasks were written by one instance: {writers}"
    calls = Counter(e.payload.role for e in events if e.type == "LLMCallRecorded")
    assert calls == {"planner": 1, "developer": len(fanout.TASKS)}, "no call made twice"
    report = await reexecute(run_id, events, every_service({}))
    assert report.divergences == [], report.divergences
    assert not [c.name for c in children.values() if not c.alive]


@pytest.mark.timeout(600)
async def test_calls_of_one_run_in_different_instances_never_pass_its_budget_together(
    stack, store, kafka_bootstrap, topics, tmp_path, figures
):
    await start(stack, tmp_path, kafka_bootstrap, topics, DEVELOPERS, WAVE_DEVELOPER_CONCURRENCY="4",
                WAVE_DEVELOPER_MAX_TOKENS="3000")
    # Each developer call answers with 3,100 tokens, close to its worst case (its prompt plus the
    # 3,000 it may write); the plan's call spent 1,200. The limit fits three answers but never
    # three worst cases at once: made side by side unchecked, four calls would spend 13,600.
    repo, cassette = story(tmp_path, latency_ms=1500, developer_usage={"input_tokens": 100, "output_tokens": 3000})
    limit = 1_200 + 3 * 3_100 - 1
    run_id = await commands.submit_run(store, actor="fanout-test", story="add twice() to each calc module",
                                       repo=str(repo), budget_usd=1.0, budget_tokens=limit, cassette=cassette)

    async def stopped() -> bool:
        state = fold(await store.read_stream(run_stream_id(run_id)))
        return state.status not in ("running", "unknown") and not state.work_in_flight

    await until(lambda: stopped(), timeout=300, interval=0.5)
    await asyncio.sleep(3)  # anything still on its way would show now
    events = await store.read_stream(run_stream_id(run_id))
    state = fold(events)
    spent = sum(e.payload.tokens for e in events if e.type == "BudgetCharged")
    developer_calls = [e for e in events if e.type == "LLMCallRecorded" and e.payload.role == "developer"]
    claims = Counter(e.producer for e in events if e.type == "BudgetReserved")
    questions = [q for q in state.pending_escalations.values() if q.kind == "budget"]
    figures.report(limit=limit, spent=spent, developer_calls=len(developer_calls), claims=dict(claims))
    assert spent <= limit, f"the run spent {spent} tokens of {limit}"
    assert state.status == "awaiting_human", state.status
    assert spent == state.budget_used_tokens
    assert 1 <= len(developer_calls) < len(fanout.TASKS), "some calls fit, not all"
    assert any(e.type == "BudgetExceeded" for e in events)
    assert len(questions) == 1, "one budget question"
    assert len(claims) >= 2, f"the calls were made by one instance: {claims}"
    assert state.budget_claims == {}, "every claim ended with its handling"
