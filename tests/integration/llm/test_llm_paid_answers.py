"""A paid answer is kept in the store the moment it arrives: a handling decided again, in this process
or in the next one after a crash, is given it (recorded and charged as it was) instead of paying again.
The provider is the official OpenAI SDK against the local fake API; the store is SQLite."""

import uuid

import pytest
from llm_fake_server import Reply
from llm_models import client_for, entry
from wave_events.catalogue import BudgetCharged, LLMCallRecorded
from wave_llm import Cassette, OpenAICompatibleProvider, ScriptedProvider
from wave_store.paid import PaidResults, paying_for
from wave_store.port import Handling
from wave_store.sqlite import SqliteEventStore

CAUSE = uuid.UUID("00000000-0000-4000-8000-000000000001")


@pytest.fixture
async def grok(fake_server):
    provider = OpenAICompatibleProvider.from_preset("xai", api_key="xai-testkey-paid-answers-0001", base_url=fake_server.openai_url)
    yield provider
    await provider.aclose()


async def _ask(client, store, question: str, *, cause=CAUSE):
    """One handling attempt: a fresh `PaidResults`, as the dispatcher opens for each."""
    with paying_for(PaidResults(store, "developer", cause)):
        return await client.complete("developer", "Write the change.", question)


async def test_an_answer_paid_for_is_given_again_to_the_next_attempt_of_the_same_handling(fake_server, grok, tmp_path):
    fake_server.enqueue("openai", Reply(text="the diff", input_tokens=40, output_tokens=10))
    store = SqliteEventStore(tmp_path / "events.db")
    first_response, first_events = await _ask(client_for([entry(grok, "grok-4")], tmp_path), store, "add slugify")
    await store.close()

    # The process died before its handling was recorded; a new one, with a new client, decides again.
    store = SqliteEventStore(tmp_path / "events.db")
    again_response, again_events = await _ask(client_for([entry(grok, "grok-4")], tmp_path), store, "add slugify")

    assert len(fake_server.received("openai")) == 1
    assert again_response == first_response
    assert [type(e) for e in again_events] == [LLMCallRecorded, BudgetCharged]
    assert again_events == first_events  # the same record and the same charge, once stored
    await store.close()


async def test_a_different_question_or_another_handling_is_asked_anew(fake_server, grok, tmp_path):
    store = SqliteEventStore(tmp_path / "events.db")
    client = client_for([entry(grok, "grok-4")], tmp_path)
    await _ask(client, store, "add slugify")
    await _ask(client, store, "add a health endpoint")  # same handling, another question
    await _ask(client, store, "add slugify", cause=uuid.uuid4())  # another event
    assert len(fake_server.received("openai")) == 3

    # The same question asked twice within one attempt is two calls; the next attempt reuses both.
    with paying_for(PaidResults(store, "developer", uuid.uuid4())) as paid:
        await client.complete("developer", "Write the change.", "again?")
        await client.complete("developer", "Write the change.", "again?")
    with paying_for(PaidResults(store, "developer", paid.cause_event_id)):
        await client.complete("developer", "Write the change.", "again?")
        await client.complete("developer", "Write the change.", "again?")
    assert len(fake_server.received("openai")) == 5
    await store.close()


async def test_recording_the_handling_ends_what_was_kept(fake_server, grok, tmp_path):
    store = SqliteEventStore(tmp_path / "events.db")
    client = client_for([entry(grok, "grok-4")], tmp_path)
    await _ask(client, store, "add slugify")
    await store.record_handling(Handling("developer", CAUSE, "run-one"))
    await _ask(client, store, "add slugify")  # only a re-drive hands a recorded event over again: asked anew
    assert len(fake_server.received("openai")) == 2
    await store.close()


async def test_scripted_answers_are_free_and_not_kept(tmp_path):
    cassette = Cassette.model_validate(
        {"version": 1, "interactions": [{"role": "developer", "response": {"text": t}} for t in ("first", "second")]}
    )
    store = SqliteEventStore(tmp_path / "events.db")
    client = client_for([entry(ScriptedProvider.playing(cassette), "scripted", metered=False)], tmp_path)
    await _ask(client, store, "add slugify")
    response, _ = await _ask(client, store, "add slugify")
    assert response.text == "second"
    await store.close()


async def test_a_store_that_cannot_keep_the_answer_does_not_fail_the_call(fake_server, grok, tmp_path):
    store = SqliteEventStore(tmp_path / "events.db")
    await store.close()  # every read and write now fails
    response, events = await _ask(client_for([entry(grok, "grok-4")], tmp_path), store, "add slugify")
    assert response.text == "fake answer" and isinstance(events[0], LLMCallRecorded)
