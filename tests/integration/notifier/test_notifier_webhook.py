"""The incoming-webhook adapter (slack_sdk.webhook.WebhookClient) against the fake Slack."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from notifier_fake_slack import FakeSlack, Message
from notifier_sender_contract import MESSAGE, SenderContract
from wave_notifier import WebhookSender


class TestWebhookSenderContract(SenderContract):
    post_path = "hooks/alerts"

    def make_sender(self, base_url: str, fake: FakeSlack, **options: float) -> WebhookSender:
        return WebhookSender(f"{base_url}/hooks/alerts", backoff_s=0.01, **options)

    def landed(self, fake: FakeSlack) -> list[Message]:
        return fake.messages_in("alerts")

    def refuse(self, fake: FakeSlack) -> WebhookSender:
        return WebhookSender(fake.hook_url("revoked"), backoff_s=0.01)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    server = FakeSlack().start()
    yield server
    server.stop()


async def test_slack_receives_text_and_blocks_at_the_channels_webhook(fake_slack: FakeSlack) -> None:
    sender = WebhookSender(fake_slack.hook_url("all"), {"#wave-budget": fake_slack.hook_url("budget")})
    for channel in ("#wave-budget", "#wave-updates"):
        posted = await sender.post(
            channel, MESSAGE, idempotency_key=f"k-{channel}", not_before=datetime.now(UTC)
        )
        assert posted.ts is None and not posted.reused
    budget, default = fake_slack.received("hooks/budget"), fake_slack.received("hooks/all")
    assert len(budget) == 1 and len(default) == 1
    assert budget[0].body["text"] == MESSAGE.text and budget[0].body["blocks"] == list(MESSAGE.blocks)
    assert "authorization" not in budget[0].headers  # the URL is the credential
    assert not sender.can_read_back
