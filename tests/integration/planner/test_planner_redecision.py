"""The planner under the real dispatcher and store: a decision re-made after a concurrency conflict
(another service appended to the run meanwhile, e.g. the notifier's NotificationSent for the same
RunRequested) must not ask the model a second time."""

from __future__ import annotations

import uuid

from planner_models import PLAN, answer, scripted_client
from wave_events import catalogue as c
from wave_events import new_envelope
from wave_planner import PlannerConfig, PlannerService
from wave_runtime.engine import Dispatcher
from wave_store.sqlite import SqliteEventStore

STREAM = "run-r1"


class NotifiedMeanwhile:
    """A model client that, while the first call is under way, lets another service append to the run."""

    def __init__(self, inner, store: SqliteEventStore) -> None:
        self.inner, self.store, self.calls = inner, store, 0

    async def complete(self, *args, **kwargs):
        self.calls += 1
        if self.calls == 1:
            events = await self.store.read_stream(STREAM)
            cause = events[-1]
            sent = c.NotificationSent(channel="#wave", idempotency_key=f"wave:{cause.event_id}:#wave", source_event_id=cause.event_id)
            await self.store.append(STREAM, [new_envelope(STREAM, sent, producer="notifier@x", causation=cause)], len(events))
        return await self.inner.complete(*args, **kwargs)


async def test_a_plan_decided_again_after_a_conflict_asks_the_model_once(tmp_path) -> None:
    store = SqliteEventStore(tmp_path / "wave.db")
    try:
        request = new_envelope(
            STREAM, c.RunRequested(story="make prices include tax", repo=str(tmp_path / "none"), budget_usd=5.0),
            producer="cli", event_id=uuid.uuid4(),
        )
        await store.append(STREAM, [request], 0)
        models = NotifiedMeanwhile(scripted_client(tmp_path, answer("planner", PLAN)), store)
        planner = PlannerService(models, config=PlannerConfig())  # type: ignore[arg-type]
        (stored,) = await store.read_stream(STREAM)
        assert await Dispatcher(planner, store).dispatch(stored) == "handled"
        types = [e.type for e in await store.read_stream(STREAM)]
        assert types == ["RunRequested", "NotificationSent", "LLMCallRecorded", "BudgetCharged", "PlanCreated"]
        assert models.calls == 1
    finally:
        await store.close()
