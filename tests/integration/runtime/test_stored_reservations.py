"""Budget reservations kept on the run's stream (distributed: a run's tasks written by several
instances): each handling's claim is checked against every claim stored before it, a claim ends when
its handling's outputs are stored, and claims racing for the same version are checked one after the
other. Over a real SQLite store; the PostgreSQL store gives the same append contract."""

from __future__ import annotations

import asyncio
import uuid

from wave_events import catalogue as c
from wave_events import new_envelope
from wave_events.projections import fold
from wave_llm import RunBudget, StoredBudget
from wave_llm.budget import CallEstimate
from wave_store.paid import PaidResults
from wave_store.sqlite import SqliteEventStore

STREAM = "run-r1"
WORST = CallEstimate(tokens=400, usd=0.0)


async def _run(store, limit_tokens: int) -> None:
    requested = c.RunRequested(story="s", repo="/repo", budget_usd=1.0, budget_tokens=limit_tokens, requested_by="t")
    await store.append(STREAM, [new_envelope(STREAM, requested, producer="cli")], 0)


def _handling(store, instance: str) -> StoredBudget:
    return StoredBudget(PaidResults(store, "developer", uuid.uuid4(), f"developer@{instance}"), STREAM)


async def test_claims_of_different_handlings_never_pass_the_budget_together(tmp_path):
    store = SqliteEventStore(tmp_path / "wave.db")
    await _run(store, 1_000)
    view = RunBudget(1.0, 1_000)  # what each handling's state showed: nothing spent
    a, b, d = _handling(store, "one"), _handling(store, "two"), _handling(store, "three")
    _, first = await a.reserve("t1", view, WORST)
    _, second = await b.reserve("t2", view, WORST)
    _, third = await d.reserve("t3", view, WORST)  # 2 x 400 claimed + 400 > 1,000
    assert first is None and second is None
    assert third is not None and third.dimension == "tokens" and third.used == 800
    state = fold(await store.read_stream(STREAM))
    assert sorted(state.budget_claims.values()) == [(400, 0.0), (400, 0.0)]
    assert {e.producer for e in await store.read_stream(STREAM) if e.type == "BudgetReserved"} == {
        "developer@one", "developer@two"}


async def test_a_claim_ends_when_its_handlings_outputs_are_stored(tmp_path):
    store = SqliteEventStore(tmp_path / "wave.db")
    await _run(store, 1_000)
    view = RunBudget(1.0, 1_000)
    a, b = _handling(store, "one"), _handling(store, "two")
    assert (await a.reserve("t1", view, WORST))[1] is None
    assert (await b.reserve("t2", view, WORST))[1] is None
    # a's call answered for 100 tokens and its outputs stored: its claim of 400 becomes a charge of 100.
    events = await store.read_stream(STREAM)
    cause = next(e for e in events if e.type == "BudgetReserved" and e.producer == "developer@one")
    charged = new_envelope(STREAM, c.BudgetCharged(tokens=100, cost_usd=0.0), producer="developer@one")
    await store.append(STREAM, [charged.model_copy(update={"causation_id": cause.causation_id})], len(events))
    state = fold(await store.read_stream(STREAM))
    assert list(state.budget_claims.values()) == [(400, 0.0)] and state.budget_used_tokens == 100
    seen, refusal = await _handling(store, "three").reserve("t3", view, WORST)  # 100 + 400 + 400 <= 1,000
    assert refusal is None and seen.used_tokens == 500


async def test_a_handlings_later_claim_counts_its_answered_calls_and_replaces_the_earlier_one(tmp_path):
    store = SqliteEventStore(tmp_path / "wave.db")
    await _run(store, 1_000)
    view = RunBudget(1.0, 1_000)
    a = _handling(store, "one")
    assert (await a.reserve("t1", view, WORST))[1] is None
    a.settle("t1", WORST, 150, 0.0)
    assert (await a.reserve("t1", view, WORST))[1] is None
    state = fold(await store.read_stream(STREAM))
    assert list(state.budget_claims.values()) == [(550, 0.0)]


async def test_claims_racing_for_one_version_are_checked_one_after_the_other(tmp_path):
    store = SqliteEventStore(tmp_path / "wave.db")
    await _run(store, 1_000)
    view = RunBudget(1.0, 1_000)
    handlings = [_handling(store, f"i{n}") for n in range(6)]
    results = await asyncio.gather(*(h.reserve(f"t{n}", view, WORST) for n, h in enumerate(handlings)))
    assert sum(1 for _, refusal in results if refusal is None) == 2  # 2 x 400 fit in 1,000, a third does not
    state = fold(await store.read_stream(STREAM))
    assert sum(t for t, _ in state.budget_claims.values()) == 800
