"""Budget reservations of calls made side by side: what each may reserve, and a task's share."""

from __future__ import annotations

import asyncio

from wave_llm import RunBudget, SharedBudget, TaskCap
from wave_llm.budget import CallEstimate


def test_a_call_counts_every_other_tasks_reservations_and_answers():
    async def go():
        shared = SharedBudget()
        run = RunBudget(limit_usd=1.0, limit_tokens=1_000, used_tokens=100)
        worst = CallEstimate(tokens=400, usd=0.1)
        _, first = await shared.reserve("a", run, worst)
        _, second = await shared.reserve("b", run, worst)
        _, third = await shared.reserve("c", run, worst)  # 100 spent + 2 x 400 reserved + 400 > 1,000
        assert first is None and second is None and third is not None and third.dimension == "tokens"
        shared.settle("a", worst, 50, 0.01)  # a's call answered for 50 tokens: room for c now
        _, again = await shared.reserve("c", run, worst)
        assert again is None
        # A task's own answered calls are in its own budget already: only the others' count for it.
        seen, _ = await shared.reserve("a", run.charged(50, 0.01), CallEstimate(tokens=0, usd=0))
        assert seen.used_tokens == 100 + 50 + 400 + 400

    asyncio.run(go())


def test_a_task_is_held_to_its_domains_share_of_the_budget():
    async def go():
        shared = SharedBudget(caps={"pay": TaskCap(limit_usd=0.5, limit_tokens=500, used_tokens=300)})
        run = RunBudget(limit_usd=1.0, limit_tokens=10_000)
        _, refused = await shared.reserve("pay", run, CallEstimate(tokens=250, usd=0.01))
        _, allowed = await shared.reserve("ui", run, CallEstimate(tokens=250, usd=0.01))
        assert refused is not None and refused.limit == 500 and allowed is None

    asyncio.run(go())


def test_a_threshold_is_announced_once_across_tasks():
    shared = SharedBudget()
    shared.settle("a", CallEstimate(0, 0), 800, 0.0)
    run = RunBudget(limit_usd=1.0, limit_tokens=1_000)
    from wave_llm.budget import threshold_events

    first = threshold_events(shared.announce("b", run))
    second = threshold_events(shared.announce("c", run))
    assert [e.percent for e in first] == [75] and second == []
