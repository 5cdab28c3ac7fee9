"""Tasks of one run written side by side: each plays its own answers, the outputs come in plan order,
and concurrent calls reserve their worst case from the run's budget before they are made."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from developer_runs import (
    PRICE_DIFF,
    answer,
    make_repo,
    of_type,
    plan_created,
    requested,
    scripted_client,
    workspace_ready,
)
from wave_developer import DeveloperService, GitCheckouts, LoopLimits
from wave_events import catalogue as c
from wave_llm import dump_cassette
from wave_llm.cassette import Cassette, Interaction, ScriptedResponse

LATENCY_MS = 600


@pytest.fixture
def origin(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "origin"
    _, base = make_repo(path)
    return path, base


def tasked_cassette(path: Path, tasks: list[str], latency_ms: float = LATENCY_MS) -> Path:
    """One answer per task, each for its own task, each taking `latency_ms` (the last task's first)."""
    interactions = [
        Interaction(role="developer", task=t, response=ScriptedResponse(**answer(PRICE_DIFF, f"task {t}"), latency_ms=latency_ms))
        for t in reversed(tasks)
    ]
    dump_cassette(Cassette(interactions=tuple(interactions)), path)
    return path


def started(origin, *tasks: str, **budget):
    path, base = origin
    stream = requested(repo=str(path), **budget)
    stream.add(plan_created(*tasks, files=("app.py",)))
    return stream.add(workspace_ready(base, location=str(path)))


async def test_independent_tasks_are_written_at_the_same_time_each_from_its_own_answers(tmp_path, origin):
    tasks = ["t1", "t2", "t3"]
    cassette = tasked_cassette(tmp_path / "c.yml", tasks)
    service = DeveloperService(scripted_client(cassette, tmp_path), GitCheckouts(tmp_path / "scratch"), concurrency=3)
    ready = started(origin, *tasks)
    began = time.perf_counter()
    outputs = await service.handle(ready.state, ready.event)
    took = time.perf_counter() - began
    proposals = of_type(outputs, c.ChangeProposed)
    assert [p.task_id for p in proposals] == tasks  # plan order, whatever order they finished in
    assert [p.rationale for p in proposals] == [f"task {t}" for t in tasks]  # each task played its own answer
    assert [call.task_id for call in of_type(outputs, c.LLMCallRecorded)] == tasks
    assert took < 2 * LATENCY_MS / 1000, f"three {LATENCY_MS} ms answers took {took:.2f}s: not side by side"


async def test_one_at_a_time_when_the_instance_takes_one_task(tmp_path, origin):
    tasks = ["t1", "t2"]
    cassette = tasked_cassette(tmp_path / "c.yml", tasks, latency_ms=300)
    service = DeveloperService(scripted_client(cassette, tmp_path), GitCheckouts(tmp_path / "scratch"), concurrency=1)
    ready = started(origin, *tasks)
    began = time.perf_counter()
    outputs = await service.handle(ready.state, ready.event)
    assert time.perf_counter() - began >= 0.6
    assert [p.task_id for p in of_type(outputs, c.ChangeProposed)] == tasks


async def test_concurrent_calls_reserve_their_worst_case_so_together_they_never_pass_the_budget(tmp_path, origin):
    tasks = ["t1", "t2", "t3"]
    cassette = tasked_cassette(tmp_path / "c.yml", tasks)
    limits = LoopLimits(max_tokens=10_000)
    service = DeveloperService(
        scripted_client(cassette, tmp_path), GitCheckouts(tmp_path / "scratch"), limits=limits, concurrency=3
    )
    # Room for two calls' worst case (10,000 output tokens and the prompt each), not three. Each
    # call alone fits, and each sees the run at 0 tokens spent: without reservations all three go.
    ready = started(origin, *tasks, budget_tokens=25_000)
    outputs = await service.handle(ready.state, ready.event)
    calls = of_type(outputs, c.LLMCallRecorded)
    refused = of_type(outputs, c.BudgetExceeded)
    assert len(calls) == 2 and len(refused) == 1
    assert refused[0].needed_tokens > 10_000 and refused[0].used_tokens + refused[0].needed_tokens > 25_000
    charged = sum(e.tokens for e in of_type(outputs, c.BudgetCharged))
    assert charged <= 25_000
    # The refused task asks for more budget once; the two others proposed their changes.
    (question,) = of_type(outputs, c.EscalationRequested)
    assert question.kind == "budget" and question.task_id not in {p.task_id for p in of_type(outputs, c.ChangeProposed)}
    assert len(of_type(outputs, c.ChangeProposed)) == 2
