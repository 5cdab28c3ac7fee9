"""Posting through Slack incoming webhooks.

A webhook posts to the one channel it was created for and cannot read messages back, so a message
cannot be looked for before it is posted: a redelivered event is kept from posting twice only by
the runtime's stored progress (an event whose NotificationSent was stored is never handled again)
and, within one process, by the service's memory of what it posted. A crash between the post and
that append can repeat a message. Use a bot token where that matters.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from datetime import datetime
from urllib.error import URLError

from slack_sdk.webhook import WebhookClient
from wave_runtime import TransientError

from .blockkit import SlackMessage
from .retries import all_handlers
from .sender import Posted, SlackDeliveryError, SlackSender


class WebhookSender(SlackSender):
    can_read_back = False

    def __init__(
        self,
        default_url: str | None,
        channel_urls: Mapping[str, str] | None = None,
        *,
        timeout_s: float = 10.0,
        max_attempts: int = 3,
        max_retry_after_s: float = 30.0,
        backoff_s: float = 0.5,
    ) -> None:
        if default_url is None and not channel_urls:
            raise ValueError("a webhook sender needs a default webhook URL or one per channel")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._default_url = default_url
        self._channel_urls = dict(channel_urls or {})
        self._timeout = int(max(1, timeout_s))
        self._handlers = all_handlers(max_attempts, max_retry_after_s, backoff_s)
        self._max_attempts = max_attempts
        self._clients: dict[str, WebhookClient] = {}
        self._lock = threading.Lock()

    def destination(self, channel: str) -> str:
        url = self._channel_urls.get(channel) or self._default_url
        if url is None:
            raise SlackDeliveryError(
                f"no webhook URL is configured for {channel} and there is no default one"
            )
        return url

    async def post(
        self, channel: str, message: SlackMessage, *, idempotency_key: str, not_before: datetime
    ) -> Posted:
        client = self._client(self.destination(channel))
        return await asyncio.to_thread(self._send, client, channel, message)

    def _client(self, url: str) -> WebhookClient:
        with self._lock:
            if url not in self._clients:
                self._clients[url] = WebhookClient(url, timeout=self._timeout, retry_handlers=self._handlers)
            return self._clients[url]

    def _send(self, client: WebhookClient, channel: str, message: SlackMessage) -> Posted:
        try:
            response = client.send(
                text=message.text, blocks=list(message.blocks), unfurl_links=False, unfurl_media=False
            )
        except (URLError, TimeoutError, ConnectionError) as exc:
            # The exception text may name the URL, which is a secret: say only what kind of failure it was.
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise TransientError(f"the webhook for {channel} is unreachable: {reason}") from None
        status = response.status_code
        if status == 200:
            return Posted(None)
        if status == 429 or status >= 500:
            raise TransientError(
                f"the webhook for {channel} answered HTTP {status} after {self._max_attempts} attempts"
            )
        raise SlackDeliveryError(
            f"the webhook for {channel} refused the message: HTTP {status} {response.body}"
        )
