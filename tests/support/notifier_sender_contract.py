"""The contract every SlackSender adapter passes, run against the fake Slack server with the real
slack_sdk clients. Subclass it once per adapter (the class name has no Test prefix, so pytest only
collects the subclasses)."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from notifier_fake_slack import FakeSlack, Message
from wave_notifier import SlackDeliveryError, SlackSender, messages
from wave_runtime import TransientError

MESSAGE = messages.escalation(
    "r1",
    escalation_id="esc-1",
    kind="unsafe_action",
    reason="writes outside the worktree",
    options=("approve", "reject"),
)


def dead_url() -> str:
    """A URL where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class SenderContract:
    channel = "#wave-alerts"
    post_path: str  # the path the fake sees for a post

    def make_sender(self, base_url: str, fake: FakeSlack, **options: float) -> SlackSender:
        raise NotImplementedError

    def landed(self, fake: FakeSlack) -> list[Message]:
        raise NotImplementedError

    def refuse(self, fake: FakeSlack) -> SlackSender:
        """A sender whose posts Slack refuses for a reason retrying does not fix."""
        raise NotImplementedError

    @pytest.fixture
    def fake(self) -> Iterator[FakeSlack]:
        server = FakeSlack().start()
        yield server
        server.stop()

    async def _post(self, sender: SlackSender):
        return await sender.post(
            self.channel,
            MESSAGE,
            idempotency_key=f"wave:{uuid.uuid4()}:{self.channel}",
            not_before=datetime.now(UTC),
        )

    async def test_posts_the_message_the_channel_receives(self, fake: FakeSlack) -> None:
        await self._post(self.make_sender(fake.url, fake))
        (landed,) = self.landed(fake)
        assert landed.text == MESSAGE.text
        assert landed.blocks == list(MESSAGE.blocks)

    async def test_waits_out_a_rate_limit_as_long_as_slack_asks(self, fake: FakeSlack) -> None:
        fake.fail_next(1, 429, path=self.post_path, retry_after=1)
        await self._post(self.make_sender(fake.url, fake))
        first, retry = fake.received(self.post_path)
        assert retry.at - first.at >= 1.0
        assert len(self.landed(fake)) == 1

    async def test_a_persistent_server_error_becomes_a_transient_error_after_bounded_attempts(
        self, fake: FakeSlack
    ) -> None:
        fake.fail_next(50, 500, path=self.post_path)
        with pytest.raises(TransientError, match="500"):
            await self._post(self.make_sender(fake.url, fake, max_attempts=3))
        assert len(fake.received(self.post_path)) == 3
        assert self.landed(fake) == []

    async def test_a_server_error_that_passes_is_retried_and_the_message_posted(
        self, fake: FakeSlack
    ) -> None:
        fake.fail_next(1, 503, path=self.post_path)
        await self._post(self.make_sender(fake.url, fake, max_attempts=3))
        assert len(fake.received(self.post_path)) == 2
        assert len(self.landed(fake)) == 1

    async def test_a_rate_limit_longer_than_allowed_goes_back_to_the_runtime(self, fake: FakeSlack) -> None:
        fake.fail_next(1, 429, path=self.post_path, retry_after=120)
        started = time.monotonic()
        with pytest.raises(TransientError):
            await self._post(self.make_sender(fake.url, fake, max_retry_after_s=5))
        assert time.monotonic() - started < 5
        assert len(fake.received(self.post_path)) == 1

    async def test_an_unreachable_slack_is_a_transient_error(self, fake: FakeSlack) -> None:
        with pytest.raises(TransientError, match="unreachable"):
            await self._post(self.make_sender(dead_url(), fake, max_attempts=2))

    async def test_a_refused_message_is_a_delivery_error_and_not_retried(self, fake: FakeSlack) -> None:
        sender = self.refuse(fake)
        with pytest.raises(SlackDeliveryError) as refused:
            await self._post(sender)
        assert len(fake.requests) == 1
        assert "xoxb-" not in str(refused.value) and fake.url not in str(refused.value)
