"""The DeadLetters port's contract: every adapter passes it.

`DeadLettersContract` is not collected on its own (its name does not start with Test); each adapter
subclasses it once (tests/integration/runtime/test_runtime_deadletters.py) and provides two fixtures:
`dead_letters`, an empty adapter, and `sent_back`, an async callable `consumer -> [event id]` naming
every event a re-drive has put back in front of that consumer so far (a transport that re-drives
to all consumers at once may name other consumers' events too: their handling is idempotent).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from wave_events import catalogue as c
from wave_events import new_envelope, run_stream_id
from wave_runtime import DeadLetters


def poisoned_event(story: str = "poison the well"):
    """A request on a run of its own, as a service would have failed to handle it."""
    run_id = uuid.uuid4().hex[:12]
    return new_envelope(run_stream_id(run_id), c.RunRequested(story=story, repo="/srv/r", budget_usd=1), producer="test")


async def dead_letter(dead_letters: DeadLetters, consumer: str, envelope=None) -> str:
    """Dead-letters `envelope` (a fresh one by default) for `consumer`; returns its event id."""
    envelope = envelope or poisoned_event()
    await dead_letters.add(consumer, envelope, None, "ValueError", f"{consumer} cannot handle it", 3)
    return str(envelope.event_id)


async def marks(dead_letters: DeadLetters) -> dict[tuple[str, str], bool]:
    return {(d.consumer, d.event_id): d.redriven for d in await dead_letters.list()}


class DeadLettersContract:
    async def test_before_any_letter_nothing_is_listed_and_a_redrive_reports_nothing(self, dead_letters, sent_back):
        assert await dead_letters.list() == []
        assert await dead_letters.list("planner") == []
        assert await dead_letters.redrive() == 0
        assert await dead_letters.redrive("planner") == 0
        assert await dead_letters.redrive(event_id=str(uuid.uuid4())) == 0
        assert await sent_back("planner") == []

    async def test_a_letter_is_listed_with_its_event_its_error_and_its_attempts(self, dead_letters):
        event = poisoned_event()
        await dead_letters.add("planner", event, None, "ValueError", "poisoned story: " + "x" * 5000, 3)

        (letter,) = await dead_letters.list()
        assert (letter.consumer, letter.event_id, letter.event_type, letter.stream_id) == (
            "planner", str(event.event_id), "RunRequested", event.stream_id,
        )
        assert letter.error_type == "ValueError" and letter.error.startswith("poisoned story: ")
        assert len(letter.error) <= 4000  # a huge traceback does not bloat the letter
        assert letter.attempts == 3 and not letter.redriven
        assert datetime.fromisoformat(letter.dead_at).tzinfo is not None

    async def test_letters_are_listed_by_service(self, dead_letters):
        first = await dead_letter(dead_letters, "planner")
        other = await dead_letter(dead_letters, "qa")
        second = await dead_letter(dead_letters, "planner")

        assert sorted(d.event_id for d in await dead_letters.list("planner")) == sorted([first, second])
        assert [d.event_id for d in await dead_letters.list("qa")] == [other]
        assert await dead_letters.list("notifier") == []
        assert len(await dead_letters.list()) == 3

    async def test_a_redrive_by_service_sends_back_that_service_s_letters_only(self, dead_letters, sent_back):
        first = await dead_letter(dead_letters, "planner")
        other = await dead_letter(dead_letters, "qa")
        second = await dead_letter(dead_letters, "planner")

        assert await dead_letters.redrive("planner") == 2

        assert sorted(await sent_back("planner")) == sorted([first, second])
        assert await marks(dead_letters) == {("planner", first): True, ("qa", other): False, ("planner", second): True}
        assert await dead_letters.redrive("planner") == 0  # each letter goes back once
        assert await dead_letters.redrive() == 1  # the other service's letter is still there to re-drive
        assert other in await sent_back("qa")

    async def test_a_redrive_by_event_id_sends_back_that_letter_only(self, dead_letters, sent_back):
        chosen = await dead_letter(dead_letters, "planner")
        kept = await dead_letter(dead_letters, "planner")

        assert await dead_letters.redrive(event_id=chosen) == 1

        assert await sent_back("planner") == [chosen]
        assert await marks(dead_letters) == {("planner", chosen): True, ("planner", kept): False}
        assert await dead_letters.redrive(event_id=chosen) == 0
        assert await dead_letters.redrive("planner", event_id=kept) == 1
        assert sorted(await sent_back("planner")) == sorted([chosen, kept])

    async def test_a_redrive_that_matches_nothing_reports_nothing_and_changes_nothing(self, dead_letters, sent_back):
        event_id = await dead_letter(dead_letters, "planner")

        assert await dead_letters.redrive("qa") == 0
        assert await dead_letters.redrive(event_id=str(uuid.uuid4())) == 0
        assert await dead_letters.redrive("qa", event_id=event_id) == 0  # both must match

        assert await marks(dead_letters) == {("planner", event_id): False}
        assert await sent_back("planner") == []

    async def test_an_event_that_fails_again_after_its_redrive_is_a_new_letter(self, dead_letters, sent_back):
        event = poisoned_event()
        await dead_letter(dead_letters, "planner", event)
        assert await dead_letters.redrive("planner") == 1
        await dead_letter(dead_letters, "planner", event)

        letters = await dead_letters.list("planner")
        assert [d.event_id for d in letters] == [str(event.event_id)] * 2
        assert sorted(d.redriven for d in letters) == [False, True]
        assert await dead_letters.redrive("planner") == 1
        assert await sent_back("planner") == [str(event.event_id)] * 2
        assert all(d.redriven for d in await dead_letters.list("planner"))

    async def test_a_letter_marked_handled_is_settled_and_never_sent_back(self, dead_letters, sent_back):
        handled = await dead_letter(dead_letters, "planner")
        kept = await dead_letter(dead_letters, "planner")
        other_service = await dead_letter(dead_letters, "qa")

        assert await dead_letters.mark_handled("planner", handled) == 1
        assert await dead_letters.mark_handled("qa", handled) == 0  # another service's progress is its own

        letters = {(d.consumer, d.event_id): d for d in await dead_letters.list()}
        assert (letters["planner", handled].handled, letters["planner", handled].redriven) == (True, False)
        assert not letters["planner", handled].pending
        assert letters["planner", kept].pending and letters["qa", other_service].pending
        assert await dead_letters.redrive("planner") == 1  # only the one still pending
        assert await sent_back("planner") == [kept]
        assert await dead_letters.mark_handled("planner", handled) == 0  # settled once

    async def test_a_record_that_was_never_an_event_is_listed_but_cannot_be_redriven(self, dead_letters, sent_back):
        await dead_letters.add("planner", None, b"\xff not an event", "UndecodableEventError", "not JSON", 1)

        (letter,) = await dead_letters.list("planner")
        assert (letter.event_id, letter.error_type, letter.error) == ("", "UndecodableEventError", "not JSON")
        assert await dead_letters.redrive("planner") == 0  # there is nothing a service could handle again
        assert await sent_back("planner") == []
