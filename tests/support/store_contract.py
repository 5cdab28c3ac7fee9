"""The EventStore port's contract: every adapter passes it.

`EventStoreContract` is not collected on its own (its name does not start with Test); each adapter
subclasses it once (tests/integration/store/test_store_contract.py) and provides `store`,
`second_store`, `reopen` and `raw_sql` fixtures.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from secret_samples import anthropic_key
from wave_events import (
    MAX_PAYLOAD_BYTES,
    EventTooLargeError,
    InvalidStreamIdError,
    UndecodableEventError,
    UnreadableEvent,
    new_envelope,
)
from wave_events import (
    catalogue as c,
)
from wave_events.projections import fold
from wave_events.projections.run_state import replace
from wave_events.projections.snapshots import state_to_json
from wave_store import ConcurrencyError, EventIdConflictError, InvalidAppendError
from wave_store.port import Handling, Snapshot, TimerRecord
from wave_store.snapshots import SNAPSHOT_EVERY, rebuild, snapshot_if_due


def requested(stream: str = "run-one", story: str = "add a health endpoint"):
    return new_envelope(stream, c.RunRequested(story=story, repo="/srv/repo", budget_usd=5), producer="test")


def failed(stream: str = "run-one", reason: str = "boom"):
    return new_envelope(stream, c.RunFailed(reason=reason), producer="test")


class EventStoreContract:
    async def test_append_assigns_versions_and_global_positions_in_order(self, store):
        first = await store.append("run-one", [requested(), failed()], expected_version=0)
        second = await store.append("run-two", [requested("run-two")], expected_version=0)

        assert first.versions == [1, 2] and not first.duplicate
        assert second.versions == [1]
        assert second.positions[0] > first.positions[-1] > first.positions[0]
        stream = await store.read_stream("run-one")
        assert [e.type for e in stream] == ["RunRequested", "RunFailed"]
        assert [e.stream_version for e in stream] == [1, 2]
        everything = await store.read_all(0)
        assert [e.event_id for e in everything] == [*[e.event_id for e in first.events], second.events[0].event_id]
        assert await store.stream_version("run-one") == 2
        assert await store.stream_version("run-none") == 0
        assert await store.last_position() == second.positions[0]
        assert await store.stream_ids() == ["run-one", "run-two"]

    async def test_read_stream_from_a_version_and_read_all_in_pages(self, store):
        await store.append("run-one", [requested(), *[failed(reason=f"r{i}") for i in range(9)]], 0)
        assert [e.stream_version for e in await store.read_stream("run-one", from_version=8)] == [8, 9, 10]
        seen, position = [], 0
        while page := await store.read_all(position, limit=3):
            assert len(page) <= 3
            seen.extend(page)
            position = page[-1].global_position
        assert [e.stream_version for e in seen] == list(range(1, 11))

    async def test_wrong_expected_version_raises_and_stores_nothing(self, store):
        await store.append("run-one", [requested()], 0)
        with pytest.raises(ConcurrencyError, match=r"stream 'run-one' is at version 1, not the expected 0") as info:
            await store.append("run-one", [failed()], expected_version=0)
        assert (info.value.expected_version, info.value.actual_version) == (0, 1)
        with pytest.raises(ConcurrencyError):
            await store.append("run-one", [failed()], expected_version=5)
        assert len(await store.read_all(0)) == 1

    async def test_concurrent_writers_exactly_one_wins_each_version(self, store, second_store):
        stores = [store, second_store]
        await store.append("run-race", [requested("run-race")], 0)
        for version in range(1, 6):
            attempts = [
                stores[i % 2].append("run-race", [failed("run-race", f"writer {i}")], expected_version=version)
                for i in range(16)
            ]
            outcomes = await asyncio.gather(*attempts, return_exceptions=True)
            winners = [o for o in outcomes if not isinstance(o, BaseException)]
            losers = [o for o in outcomes if isinstance(o, BaseException)]
            assert len(winners) == 1, outcomes
            assert all(isinstance(o, ConcurrencyError) for o in losers), losers
            assert winners[0].versions == [version + 1]
        assert [e.stream_version for e in await store.read_stream("run-race")] == list(range(1, 7))

    async def test_read_all_never_skips_an_event_that_commits_late(self, store, second_store):
        """Two overlapping transactions: the first to take a position commits last.

        With a bare sequence, the second would commit position 2 while position 1 is still in flight; a
        follower would read 2, move its position past 1 and never see it. Here, nothing may be skipped.
        """
        late, early = requested("run-late"), requested("run-early")
        follower_seen: list = []
        async with store.hold_append_open("run-late", [late], 0):
            other = asyncio.create_task(second_store.append("run-early", [early], 0))
            await asyncio.sleep(0.3)  # let the other append run as far as it can
            follower_seen.extend(await second_store.read_all(0))
        await other
        position = follower_seen[-1].global_position if follower_seen else 0
        follower_seen.extend(await second_store.read_all(position))
        assert sorted(e.event_id for e in follower_seen) == sorted([late.event_id, early.event_id])
        positions = [e.global_position for e in follower_seen]
        assert positions == sorted(positions) and len(set(positions)) == 2

    async def test_followers_see_every_event_once_when_many_writers_commit_out_of_order(self, store, second_store):
        """32 writers, each holding every transaction open a random while before it commits; three
        followers page through the global order meanwhile. Each follower sees every event exactly
        once, and each stream's events in the order of their versions."""
        rng = random.Random(32)
        writers, appends = 32, 3
        writing_done = asyncio.Event()

        async def write(writer: int) -> None:
            stream = f"run-w{writer}"
            through = store if writer % 2 else second_store
            for n in range(appends):
                batch = [requested(stream), failed(stream, "first")] if n == 0 else [failed(stream, f"retry {n}")]
                async with through.hold_append_open(stream, batch, expected_version=0 if n == 0 else n + 1):
                    await asyncio.sleep(rng.random() * 0.03)

        async def follow(reader) -> list:
            seen, position = [], 0
            while True:
                finished = writing_done.is_set()
                page = await reader.read_all(position, limit=5)
                seen.extend(page)
                if page:
                    position = page[-1].global_position
                elif finished:
                    return seen
                else:
                    await asyncio.sleep(0.002)

        followers = [asyncio.create_task(follow(reader)) for reader in (store, second_store, store)]
        await asyncio.gather(*(write(writer) for writer in range(writers)))
        writing_done.set()
        for seen in await asyncio.gather(*followers):
            ids = [e.event_id for e in seen]
            assert len(ids) == len(set(ids)) == writers * (appends + 1)
            positions = [e.global_position for e in seen]
            assert positions == sorted(positions)
            versions: dict[str, list[int]] = {}
            for event in seen:
                versions.setdefault(event.stream_id, []).append(event.stream_version)
            assert versions == {f"run-w{w}": list(range(1, appends + 2)) for w in range(writers)}

    async def test_reappending_stored_events_is_idempotent_and_reports_the_duplicate(self, store):
        batch = [requested(), failed()]
        first = await store.append("run-one", batch, 0)
        again = await store.append("run-one", batch, 0)
        assert again.duplicate
        assert again.positions == first.positions and again.versions == first.versions
        assert len(await store.read_all(0)) == 2

    async def test_partly_stored_batch_or_other_stream_is_a_conflict(self, store):
        stored = requested()
        await store.append("run-one", [stored], 0)
        with pytest.raises(EventIdConflictError, match="1 of 2 event ids are stored already"):
            await store.append("run-one", [stored, failed()], 1)
        moved = stored.model_copy(update={"stream_id": "run-other"})
        with pytest.raises(EventIdConflictError, match="on another stream"):
            await store.append("run-other", [moved], 0)
        assert len(await store.read_all(0)) == 1

    async def test_unicode_and_one_megabyte_payloads_round_trip(self, store):
        story = "Ünïcödé 🚀 — 日本語 — emoji 👩‍💻 and a NUL-free \u2028 separator"
        big = "x" * (1024 * 1024)
        await store.append("run-one", [requested(story=story), failed(reason=big)], 0)
        events = await store.read_stream("run-one")
        assert events[0].payload.story == story
        assert events[1].payload.reason == big

    async def test_payload_above_the_limit_is_refused_and_nothing_stored(self, store):
        with pytest.raises(EventTooLargeError, match=f"above the limit of {MAX_PAYLOAD_BYTES} bytes"):
            await store.append("run-one", [requested(), failed(reason="y" * (MAX_PAYLOAD_BYTES + 1))], 0)
        assert await store.read_all(0) == []

    async def test_bad_append_requests_name_the_problem_and_store_nothing(self, store):
        with pytest.raises(InvalidStreamIdError, match="invalid stream id 'Run One!'"):
            await store.append("Run One!", [requested()], 0)
        with pytest.raises(InvalidAppendError, match="the batch is empty"):
            await store.append("run-one", [], 0)
        with pytest.raises(InvalidAppendError, match="expected_version must be an integer >= 0"):
            await store.append("run-one", [requested()], -1)
        with pytest.raises(InvalidAppendError, match="belongs to stream 'run-two'"):
            await store.append("run-one", [requested("run-two")], 0)
        twice = requested()
        with pytest.raises(InvalidAppendError, match="appears twice"):
            await store.append("run-one", [twice, twice], 0)
        assert await store.read_all(0) == []

    async def test_secrets_are_stored_redacted(self, store):
        leaky = "deploy with postgresql://admin:s3cr3t-pass@db:5432/app and key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv"
        result = await store.append("run-one", [requested(story=leaky)], 0)
        (stored,) = await store.read_stream("run-one")
        assert "s3cr3t-pass" not in stored.payload.story and "AbCdEfGhIjKlMnOpQrStUv" not in stored.payload.story
        assert "[REDACTED:url-password]" in stored.payload.story
        assert result.events[0].payload == stored.payload  # what append hands back is what a replay sees

    async def test_a_stored_old_version_reads_as_the_newest(self, store):
        old = new_envelope("run-one", c.RunRequestedV1(task="fix the bug", repo="/r", budget=2.5), producer="v1")
        await store.append("run-one", [old], 0)
        (event,) = await store.read_stream("run-one")
        assert event.version == c.RunRequested.event_version and isinstance(event.payload, c.RunRequested)
        assert (event.payload.story, event.payload.budget_usd, event.payload.target_branch) == ("fix the bug", 2.5, "main")

    async def test_stored_v1_escalations_read_as_the_newest_with_what_their_ids_said(self, store):
        # `environment` was stored as v1 before v2 existed; a developer's budget stop named its task in the id.
        stopped = c.EscalationRequestedV1(escalation_id="one-environment-qa-0123456789ab", kind="environment", reason="r")
        budget = c.EscalationRequestedV1(escalation_id="one-developer-budget-t2-a3-v9", kind="budget", reason="r")
        await store.append("run-one", [new_envelope("run-one", p, producer="v1") for p in (stopped, budget)], 0)
        first, second = await store.read_stream("run-one")
        newest = c.EscalationRequested.event_version
        assert (first.version, first.payload.kind, first.payload.task_id, first.payload.tasks) == (newest, "environment", None, ())
        assert (second.version, second.payload.task_id, second.payload.attempt) == (newest, "t2", 3)

    async def test_the_database_refuses_update_and_delete(self, store, raw_sql):
        await store.append("run-one", [requested()], 0)
        with pytest.raises(Exception, match="append-only"):
            await raw_sql("UPDATE events SET producer = 'mallory'")
        with pytest.raises(Exception, match="append-only"):
            await raw_sql("DELETE FROM events")
        (event,) = await store.read_stream("run-one")
        assert event.producer == "test"

    async def test_an_undecodable_record_is_named_and_never_hides_the_other_runs(self, store, raw_sql):
        """A record an older version stored (`--budget-usd inf` became null) cannot be decoded. Its run's
        stream names it; the global order goes on past it; its stored form stays readable."""
        await store.append("run-one", [requested()], 0)
        bad_id = uuid.uuid4()
        await raw_sql(
            "INSERT INTO events (global_position, stream_id, stream_version, event_id, event_type, event_version, "
            "occurred_at, correlation_id, producer, payload) "
            f"SELECT max(global_position) + 1, 'run-bad', 1, '{bad_id}', 'RunRequested', 2, "
            "'2024-05-01T10:00:00+00:00', 'bad', 'cli', "
            """'{"story": "s", "repo": "/r", "budget_usd": null}' FROM events"""
        )
        await store.append("run-two", [requested("run-two")], 0)

        with pytest.raises(UndecodableEventError) as raised:
            await store.read_stream("run-bad")
        assert raised.value.event_id == str(bad_id) and raised.value.stream_version == 1
        assert str(bad_id) in str(raised.value) and "budget_usd" in str(raised.value)
        everything = await store.read_all(0)
        assert [e.stream_id for e in everything] == ["run-one", "run-bad", "run-two"]
        placeholder = everything[1]
        assert isinstance(placeholder.payload, UnreadableEvent) and placeholder.event_id == bad_id
        assert "budget_usd" in placeholder.payload.error
        assert placeholder.global_position == everything[0].global_position + 1
        assert [e.type for e in await store.read_stream("run-two")] == ["RunRequested"]
        assert await store.stream_ids() == ["run-one", "run-bad", "run-two"]
        (stored,) = await store.read_stream_raw("run-bad")
        assert stored.document()["payload"] == {"story": "s", "repo": "/r", "budget_usd": None}
        assert (stored.event_id, stored.event_type, stored.event_version) == (str(bad_id), "RunRequested", 2)
        with pytest.raises(InvalidAppendError, match="unreadable"):
            await store.append("run-bad", [placeholder.model_copy(update={"event_id": uuid.uuid4()})], 1)

    async def test_a_non_finite_number_is_refused_before_anything_is_stored(self, store):
        with pytest.raises(ValueError, match="finite"):
            new_envelope("run-one", c.RunRequested(story="s", repo="/r", budget_usd=float("inf")), producer="t")
        with pytest.raises(ValueError, match="finite"):
            c.BudgetCharged(tokens=1, cost_usd=float("nan"))
        assert await store.last_position() == 0

    async def test_events_survive_reopening(self, store, reopen):
        appended = await store.append("run-one", [requested(), failed()], 0)
        await store.close()
        fresh = await reopen()
        try:
            assert [e.event_id for e in await fresh.read_all(0)] == [e.event_id for e in appended.events]
        finally:
            await fresh.close()


    # --- runtime bookkeeping ------------------------------------------------------------------

    async def test_handling_stores_outputs_and_progress_together_and_a_redelivery_is_a_no_op(self, store):
        cause = (await store.append("run-one", [requested()], 0)).events[0]
        output = new_envelope("run-one", c.RunFailed(reason="from a handler"), producer="svc", causation=cause)
        handling = Handling("svc", cause.event_id, "run-one", (output,), expected_version=1)

        first = await store.record_handling(handling)
        again = await store.record_handling(handling)

        assert not first.duplicate and first.appended.versions == [2]
        assert again.duplicate and again.appended is None
        assert await store.was_handled("svc", cause.event_id)
        assert not await store.was_handled("other", cause.event_id)
        assert [e.type for e in await store.read_stream("run-one")] == ["RunRequested", "RunFailed"]

    async def test_a_conflicting_handling_stores_neither_output_nor_progress(self, store):
        cause = (await store.append("run-one", [requested()], 0)).events[0]
        await store.append("run-one", [failed()], 1)
        output = new_envelope("run-one", c.RunFailed(reason="late"), producer="svc", causation=cause)
        with pytest.raises(ConcurrencyError):
            await store.record_handling(Handling("svc", cause.event_id, "run-one", (output,), expected_version=1))
        assert not await store.was_handled("svc", cause.event_id)
        assert await store.stream_version("run-one") == 2

    async def test_handling_with_no_output_marks_progress(self, store):
        cause = (await store.append("run-one", [requested()], 0)).events[0]
        result = await store.record_handling(Handling("svc", cause.event_id, "run-one"))
        assert not result.duplicate and result.appended is None
        assert await store.was_handled("svc", cause.event_id)

    async def test_which_events_of_a_batch_were_handled_is_one_question(self, store):
        first, second = (await store.append("run-one", [requested(), failed()], 0)).events
        await store.record_handling(Handling("svc", first.event_id, "run-one"))
        await store.record_handling(Handling("other", second.event_id, "run-one"))
        never = uuid.uuid4()
        assert await store.handled_among("svc", [first.event_id, second.event_id, never]) == {first.event_id}
        assert await store.handled_among("svc", []) == set()

    async def test_a_second_handling_of_an_event_writes_nothing_of_its_own(self, store):
        cause = (await store.append("run-one", [requested()], 0)).events[0]
        later = datetime.now(UTC) + timedelta(hours=1)
        first = Handling("svc", cause.event_id, "run-one", schedule=(_timer("t-first", later, cause),))
        assert not (await store.record_handling(first)).duplicate
        # Redelivered and decided differently (the run looked otherwise): outputs, a timer, a cancel.
        output = new_envelope("run-one", c.RunFailed(reason="second try"), producer="svc", causation=cause)
        second = Handling(
            "svc", cause.event_id, "run-one", (output,), expected_version=1,
            schedule=(_timer("t-second", later, cause),), cancel=("t-first",),
        )  # fmt: skip
        await store.keep_paid_result("svc", cause.event_id, "model/abc/0", '{"answer": 1}')

        result = await store.record_handling(second)

        assert result.duplicate and result.appended is None and result.timers_scheduled == ()
        assert [e.type for e in await store.read_stream("run-one")] == ["RunRequested"]
        assert await store.timer_status("t-first") == "pending"
        assert await store.timer_status("t-second") is None
        assert await store.paid_result("svc", cause.event_id, "model/abc/0") == '{"answer": 1}'

    async def test_the_same_handling_stored_at_once_by_two_instances_is_stored_once(self, store, second_store):
        for n in range(5):
            stream = f"run-twice-{n}"
            cause = (await store.append(stream, [requested(stream)], 0)).events[0]
            due = datetime.now(UTC) + timedelta(hours=1)
            timer = TimerRecord(f"t-twice-{n}", stream, due, new_envelope(stream, c.RunCancelled(cancelled_by="timer"), producer="svc"))
            output = new_envelope(stream, c.RunFailed(reason="once"), producer="svc", causation=cause)
            handling = Handling("svc", cause.event_id, stream, (output,), expected_version=1, schedule=(timer,))
            outcomes = await asyncio.gather(
                store.record_handling(handling), second_store.record_handling(handling), return_exceptions=True
            )
            stored = [o for o in outcomes if not isinstance(o, BaseException) and not o.duplicate]
            others = [o for o in outcomes if isinstance(o, BaseException) or o.duplicate]
            assert len(stored) == 1 and stored[0].appended.versions == [2], outcomes
            # The other saw the mark (duplicate) or lost the race for the version (and then would reload
            # and find the event handled).
            assert all(isinstance(o, ConcurrencyError) or o.duplicate for o in others), outcomes
            assert [e.event_id for e in await store.read_stream(stream)] == [cause.event_id, output.event_id]
            assert await store.timer_status(timer.timer_id) == "pending"
            assert await store.was_handled("svc", cause.event_id)

    async def test_a_conflicting_handling_schedules_and_cancels_no_timer(self, store):
        cause = (await store.append("run-one", [requested()], 0)).events[0]
        later = datetime.now(UTC) + timedelta(hours=1)
        await store.record_handling(Handling("svc", cause.event_id, "run-one", schedule=(_timer("t-kept", later, cause),)))
        second = (await store.append("run-one", [failed()], 1)).events[0]
        await store.append("run-one", [failed(reason="meanwhile")], 2)
        output = new_envelope("run-one", c.RunFailed(reason="late"), producer="svc", causation=second)
        late = Handling(
            "svc", second.event_id, "run-one", (output,), expected_version=2,
            schedule=(_timer("t-new", later, second),), cancel=("t-kept",),
        )  # fmt: skip
        with pytest.raises(ConcurrencyError):
            await store.record_handling(late)
        assert not await store.was_handled("svc", second.event_id)
        assert await store.timer_status("t-kept") == "pending"
        assert await store.timer_status("t-new") is None

    async def test_a_paid_result_is_kept_until_its_handling_is_recorded(self, store, reopen):
        cause = (await store.append("run-one", [requested()], 0)).events[0]
        await store.keep_paid_result("svc", cause.event_id, "model/abc/0", '{"answer": 1}')
        await store.keep_paid_result("svc", cause.event_id, "model/abc/0", '{"answer": 2}')  # the first stays
        await store.keep_paid_result("other", cause.event_id, "model/abc/0", '{"answer": 3}')
        await store.close()
        fresh = await reopen()  # a process killed before recording its handling: the next one finds it
        try:
            assert await fresh.paid_result("svc", cause.event_id, "model/abc/0") == '{"answer": 1}'
            assert await fresh.paid_result("svc", cause.event_id, "model/abc/1") is None
            await fresh.record_handling(Handling("svc", cause.event_id, "run-one"))
            assert await fresh.paid_result("svc", cause.event_id, "model/abc/0") is None
            assert await fresh.paid_result("other", cause.event_id, "model/abc/0") == '{"answer": 3}'
        finally:
            await fresh.close()

    async def test_a_paid_result_is_kept_with_its_secrets_redacted(self, store):
        key = anthropic_key(3)
        cause = (await store.append("run-one", [requested()], 0)).events[0]
        await store.keep_paid_result("svc", cause.event_id, "model/abc/0", json.dumps({"text": f"use {key} here"}))
        kept = json.loads(await store.paid_result("svc", cause.event_id, "model/abc/0"))
        assert key not in kept["text"] and key[13:60] not in kept["text"]
        assert kept["text"].startswith("use ") and kept["text"].endswith(" here")

    async def test_a_run_that_ends_drops_the_paid_results_of_its_unrecorded_handlings(self, store):
        cause = (await store.append("run-one", [requested()], 0)).events[0]
        other = (await store.append("run-two", [requested("run-two")], 0)).events[0]
        await store.keep_paid_result("developer", cause.event_id, "model/abc/0", '{"answer": 1}')
        await store.keep_paid_result("developer", other.event_id, "model/abc/0", '{"answer": 2}')
        raised = c.BudgetRaised(limit_usd=10, limit_tokens=100_000, raised_by="ana")
        await store.append("run-one", [new_envelope("run-one", raised, producer="test")], 1)
        assert await store.paid_result("developer", cause.event_id, "model/abc/0") == '{"answer": 1}'  # still going
        await store.append("run-one", [failed()], 2)  # a run's end, by whichever service records it
        assert await store.paid_result("developer", cause.event_id, "model/abc/0") is None
        assert await store.paid_result("developer", other.event_id, "model/abc/0") == '{"answer": 2}'
        ended = new_envelope("run-two", c.RunCancelled(cancelled_by="ana"), producer="planner", causation=other)
        await store.record_handling(Handling("planner", other.event_id, "run-two", (ended,), expected_version=1))
        assert await store.paid_result("developer", other.event_id, "model/abc/0") is None

    async def test_positions_are_saved_per_follower(self, store):
        assert await store.load_position("relay") == 0
        await store.save_position("relay", 41)
        await store.save_position("relay", 42)
        await store.save_position("planner", 7)
        assert (await store.load_position("relay"), await store.load_position("planner")) == (42, 7)

    async def test_a_timer_fires_once_at_the_stream_s_current_version(self, store, second_store):
        cause = (await store.append("run-one", [requested()], 0)).events[0]
        due = datetime.now(UTC) - timedelta(seconds=1)
        later = datetime.now(UTC) + timedelta(hours=1)
        timer = _timer("t-due", due, cause)
        handling = Handling("svc", cause.event_id, "run-one", schedule=(timer, _timer("t-later", later, cause)))
        assert (await store.record_handling(handling)).timers_scheduled == ("t-due", "t-later")
        await store.append("run-one", [failed()], 1)  # the stream moves on before the timer fires

        assert [t.timer_id for t in await store.due_timers(datetime.now(UTC))] == ["t-due"]
        fired = await asyncio.gather(store.fire_timer(timer), second_store.fire_timer(timer))
        assert sum(result is not None for result in fired) == 1
        stream = await store.read_stream("run-one")
        assert [e.type for e in stream] == ["RunRequested", "RunFailed", "RunCancelled"]
        assert stream[-1].event_id == timer.envelope.event_id
        assert await store.timer_status("t-due") == "fired"
        assert await store.due_timers(datetime.now(UTC)) == []
        assert await store.timer_status("t-later") == "pending"

    async def test_the_next_timer_due_is_the_earliest_pending_one(self, store):
        assert await store.next_timer_due() is None
        cause = (await store.append("run-one", [requested()], 0)).events[0]
        soon = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
        later = soon + timedelta(hours=1)
        timers = (_timer("t-later", later, cause), _timer("t-soon", soon, cause))
        await store.record_handling(Handling("svc", cause.event_id, "run-one", schedule=timers))
        assert await store.next_timer_due() == soon
        second = (await store.append("run-one", [failed()], 1)).events[0]
        await store.record_handling(Handling("svc", second.event_id, "run-one", cancel=("t-soon",)))
        assert await store.next_timer_due() == later

    async def test_a_cancelled_timer_never_fires(self, store):
        cause = (await store.append("run-one", [requested()], 0)).events[0]
        timer = _timer("t1", datetime.now(UTC) - timedelta(seconds=1), cause)
        await store.record_handling(Handling("svc", cause.event_id, "run-one", schedule=(timer,)))
        second = (await store.append("run-one", [failed()], 1)).events[0]
        await store.record_handling(Handling("svc", second.event_id, "run-one", cancel=("t1",)))
        assert await store.due_timers(datetime.now(UTC)) == []
        assert await store.fire_timer(timer) is None
        assert await store.timer_status("t1") == "cancelled"
        assert await store.stream_version("run-one") == 2

    async def test_a_snapshot_is_kept_per_stream_for_the_fold_that_took_it(self, store):
        taken = Snapshot("run-one", 5, "run_state/v1/aaaa", {"status": "running", "notes": [["k", "é"]]})
        await store.save_snapshot(taken)
        assert await store.load_snapshot("run-one", "run_state/v1/aaaa") == taken
        assert await store.load_snapshot("run-one", "run_state/v2/bbbb") is None
        assert await store.load_snapshot("run-two", "run_state/v1/aaaa") is None
        await store.save_snapshot(Snapshot("run-one", 3, "run_state/v1/aaaa", {"status": "older"}))
        assert await store.load_snapshot("run-one", "run_state/v1/aaaa") == taken
        newer_fold = Snapshot("run-one", 2, "run_state/v2/bbbb", {"status": "new fold"})
        await store.save_snapshot(newer_fold)
        assert await store.load_snapshot("run-one", "run_state/v2/bbbb") == newer_fold
        assert await store.load_snapshot("run-one", "run_state/v1/aaaa") is None

    async def test_a_rebuild_starts_from_the_snapshot_and_ignores_one_of_another_fold(self, store):
        history = [requested(), *[failed(reason=f"attempt {n}") for n in range(29)]]
        await store.append("run-one", history[:12], 0)
        await store.append("run-one", history[12:], 12)
        full = fold(await store.read_stream("run-one"))

        at_twelve = fold((await store.read_stream("run-one"))[:12])
        assert await snapshot_if_due(store, "run-one", at_twelve, last_snapshot=12 - SNAPSHOT_EVERY)
        state, used = await rebuild(store, "run-one")
        assert (state, used) == (full, 12)

        # A snapshot the fold's earlier code took (a wrong state, for all this fold knows) is never used.
        wrong = replace(full, status="completed", outcome_reason="an older fold said so")
        await store.save_snapshot(Snapshot("run-one", 30, "run_state/v0/0000", state_to_json(wrong)))
        assert await rebuild(store, "run-one") == (full, 0)

    async def test_wait_for_append_wakes_on_a_commit(self, store, second_store):
        position = await store.last_position()
        waiter = asyncio.create_task(store.wait_for_append(position, timeout=10))
        await asyncio.sleep(0.1)
        started = asyncio.get_running_loop().time()
        await second_store.append("run-one", [requested()], 0)
        await asyncio.wait_for(waiter, 5)
        assert asyncio.get_running_loop().time() - started < 1.0
        # Nothing new: returns after the timeout.
        started = asyncio.get_running_loop().time()
        await store.wait_for_append(await store.last_position(), timeout=0.2)
        assert asyncio.get_running_loop().time() - started >= 0.15


def _timer(timer_id: str, due: datetime, cause) -> TimerRecord:
    event = new_envelope(
        "run-one", c.RunCancelled(cancelled_by="timer"), producer="svc", causation=cause,
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, timer_id),
    )
    return TimerRecord(timer_id, "run-one", due, event)
