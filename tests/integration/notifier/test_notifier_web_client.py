"""The bot-token adapter (chat.postMessage through slack_sdk.WebClient) against the fake Slack."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from notifier_fake_slack import FakeSlack, Message
from notifier_sender_contract import MESSAGE, SenderContract
from wave_notifier import SlackDeliveryError, WebClientSender
from wave_runtime import TransientError


def web_sender(base_url: str, fake: FakeSlack, **options: float) -> WebClientSender:
    return WebClientSender.from_token(
        fake.token, api_url=base_url + "/api/", backoff_s=0.01, **{"max_attempts": 3, **options}
    )


class TestWebClientSenderContract(SenderContract):
    post_path = "chat.postMessage"

    def make_sender(self, base_url: str, fake: FakeSlack, **options: float) -> WebClientSender:
        return web_sender(base_url, fake, **options)

    def landed(self, fake: FakeSlack) -> list[Message]:
        return fake.messages_in(fake.channel_id(self.channel))

    def refuse(self, fake: FakeSlack) -> WebClientSender:
        return WebClientSender.from_token("xoxb-revoked-token", api_url=fake.api_url, backoff_s=0.01)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    server = FakeSlack().start()
    yield server
    server.stop()


def _key() -> str:
    return f"wave:{uuid.uuid4()}:#wave-alerts"


async def test_slack_receives_channel_blocks_text_metadata_and_the_bot_token(fake: FakeSlack) -> None:
    key = _key()
    posted = await web_sender(fake.url, fake).post(
        "#wave-alerts", MESSAGE, idempotency_key=key, not_before=datetime.now(UTC)
    )
    (request,) = fake.received("chat.postMessage")
    assert request.headers["authorization"] == f"Bearer {fake.token}"
    assert request.headers["content-type"].startswith("application/json")
    assert request.body["channel"] == "C0ALERTS001"  # resolved from the name once
    assert request.body["text"] == MESSAGE.text
    assert request.body["blocks"] == list(MESSAGE.blocks)
    assert request.body["metadata"] == {
        "event_type": "wave_notification",
        "event_payload": {"idempotency_key": key},
    }
    assert request.body["unfurl_links"] is False
    (message,) = fake.messages_in("C0ALERTS001")
    assert posted.ts == message.ts and not posted.reused


async def test_a_channel_name_is_resolved_once_per_process(fake: FakeSlack) -> None:
    sender = web_sender(fake.url, fake)
    for _ in range(2):
        await sender.post("#wave-alerts", MESSAGE, idempotency_key=_key(), not_before=datetime.now(UTC))
    assert len(fake.received("conversations.list")) == 1
    assert len(fake.messages_in("C0ALERTS001")) == 2


async def test_a_channel_id_needs_no_lookup(fake: FakeSlack) -> None:
    await web_sender(fake.url, fake).post(
        "C0BUDGET001", MESSAGE, idempotency_key=_key(), not_before=datetime.now(UTC)
    )
    assert fake.received("conversations.list") == []
    assert len(fake.messages_in("C0BUDGET001")) == 1


async def test_a_channel_the_bot_cannot_see_is_refused_with_advice(fake: FakeSlack) -> None:
    with pytest.raises(
        SlackDeliveryError, match="#nowhere is not visible to the bot: create it and invite the bot"
    ):
        await web_sender(fake.url, fake).post(
            "#nowhere", MESSAGE, idempotency_key=_key(), not_before=datetime.now(UTC)
        )
    assert fake.received("chat.postMessage") == []


async def test_a_key_already_in_the_channel_is_not_posted_again_even_by_a_new_process(
    fake: FakeSlack,
) -> None:
    key, at = _key(), datetime.now(UTC)
    first = await web_sender(fake.url, fake).post("#wave-alerts", MESSAGE, idempotency_key=key, not_before=at)
    again = await web_sender(fake.url, fake).post("#wave-alerts", MESSAGE, idempotency_key=key, not_before=at)
    assert again.ts == first.ts and again.reused
    assert len(fake.messages_in("C0ALERTS001")) == 1
    assert len(fake.received("chat.postMessage")) == 1
    lookup = fake.received("conversations.history")[-1]
    assert lookup.body["include_all_metadata"] in ("1", "true", "True")
    assert float(lookup.body["oldest"]) == pytest.approx((at - timedelta(minutes=5)).timestamp(), abs=0.01)


async def test_another_key_in_the_channel_does_not_stop_a_post(fake: FakeSlack) -> None:
    sender, at = web_sender(fake.url, fake), datetime.now(UTC)
    await sender.post("#wave-alerts", MESSAGE, idempotency_key=_key(), not_before=at)
    await sender.post("#wave-alerts", MESSAGE, idempotency_key=_key(), not_before=at)
    assert len(fake.messages_in("C0ALERTS001")) == 2


async def test_the_lookup_pages_through_a_busy_channel(fake: FakeSlack) -> None:
    key, at = _key(), datetime.now(UTC)
    sender = web_sender(fake.url, fake)
    await sender.post("#wave-alerts", MESSAGE, idempotency_key=key, not_before=at)
    for _ in range(450):  # three pages of newer messages on top of ours
        fake.messages.append(Message("C0ALERTS001", fake._next_ts(), "chatter", []))
    again = await web_sender(fake.url, fake).post("#wave-alerts", MESSAGE, idempotency_key=key, not_before=at)
    assert again.reused
    assert len(fake.received("conversations.history")) == 1 + 3


async def test_a_post_whose_answer_was_lost_is_found_not_repeated(fake: FakeSlack) -> None:
    fake.fail_next(1, 500, path="chat.postMessage", after_effect=True)
    posted = await web_sender(fake.url, fake).post(
        "#wave-alerts", MESSAGE, idempotency_key=_key(), not_before=datetime.now(UTC)
    )
    (message,) = fake.messages_in("C0ALERTS001")
    assert posted.ts == message.ts and posted.reused


async def test_rate_limits_that_persist_end_in_a_transient_error(fake: FakeSlack) -> None:
    fake.fail_next(10, 429, path="chat.postMessage", retry_after=1)
    with pytest.raises(TransientError, match=r"rate-limited chat.postMessage \(Retry-After 1 s\)"):
        await web_sender(fake.url, fake, max_attempts=2).post(
            "#wave-alerts", MESSAGE, idempotency_key=_key(), not_before=datetime.now(UTC)
        )
    first, retry = fake.received("chat.postMessage")
    assert retry.at - first.at >= 1.0
    assert fake.messages == []
