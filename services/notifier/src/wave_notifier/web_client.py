"""Posting with a bot token through the Web API (chat.postMessage), idempotently.

Every message carries its idempotency key as Slack message metadata. Before posting, the channel's
recent history (from shortly before the event happened) is searched for that key, so a message
posted by an attempt that crashed before its NotificationSent was stored is found, not repeated.
Needed scopes: chat:write, channels:history (groups:history for private channels), and
channels:read (groups:read) when channels are configured by name rather than id.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web import SlackResponse
from wave_runtime import TransientError

from .blockkit import SlackMessage
from .config import DEFAULT_API_URL, is_channel_id
from .retries import TRANSIENT_API_ERRORS, rate_limit_handlers, retry_after_s
from .sender import METADATA_EVENT_TYPE, Posted, SlackDeliveryError, SlackSender

log = logging.getLogger("wave.notifier")

# Clocks of the event's producer and of Slack may disagree by a little.
CLOCK_SKEW = timedelta(minutes=5)
HISTORY_PAGE = 200


class _Passing(Exception):
    """A failure after which Slack may or may not have acted: look again before posting again."""


class WebClientSender(SlackSender):
    can_read_back = True

    def __init__(
        self,
        client: WebClient,
        *,
        max_attempts: int = 3,
        backoff_s: float = 0.5,
        history_pages: int = 5,
    ) -> None:
        if max_attempts < 1 or history_pages < 1:
            raise ValueError("max_attempts and history_pages must be at least 1")
        self._client = client
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._history_pages = history_pages
        self._channel_ids: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_token(
        cls,
        token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        timeout_s: float = 10.0,
        max_attempts: int = 3,
        max_retry_after_s: float = 30.0,
        backoff_s: float = 0.5,
    ) -> WebClientSender:
        client = WebClient(
            token=token,
            base_url=api_url,
            timeout=int(max(1, timeout_s)),
            retry_handlers=rate_limit_handlers(max_attempts, max_retry_after_s),
        )
        return cls(client, max_attempts=max_attempts, backoff_s=backoff_s)

    def destination(self, channel: str) -> str:
        return channel.lstrip("#")

    async def post(
        self, channel: str, message: SlackMessage, *, idempotency_key: str, not_before: datetime
    ) -> Posted:
        # slack_sdk's WebClient is synchronous (AsyncWebClient would need aiohttp): keep the loop free.
        return await asyncio.to_thread(self._post, channel, message, idempotency_key, not_before)

    def _post(self, channel: str, message: SlackMessage, key: str, not_before: datetime) -> Posted:
        for attempt in range(1, self._max_attempts + 1):
            try:
                channel_id = self._channel_id(channel)
                found = self._find(channel_id, key, not_before)
                if found is not None:
                    log.info(
                        "notification %s is already in %s (ts %s); not posting it again", key, channel, found
                    )
                    return Posted(found, reused=True)
                response = self._call(
                    self._client.chat_postMessage,
                    channel=channel_id,
                    text=message.text,
                    blocks=list(message.blocks),
                    metadata={"event_type": METADATA_EVENT_TYPE, "event_payload": {"idempotency_key": key}},
                    unfurl_links=False,
                    unfurl_media=False,
                )
                return Posted(str(response["ts"]))
            except _Passing as exc:
                if attempt == self._max_attempts:
                    raise TransientError(f"{exc} (after {attempt} attempts)") from exc
                log.info("posting to %s failed (%s); trying again", channel, exc)
                time.sleep(self._backoff_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _find(self, channel_id: str, key: str, not_before: datetime) -> str | None:
        """The ts of a message in the channel carrying `key`, posted since shortly before `not_before`."""
        oldest = f"{(not_before - CLOCK_SKEW).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(self._history_pages):
            page = self._call(
                self._client.conversations_history,
                channel=channel_id,
                oldest=oldest,
                include_all_metadata=True,
                limit=HISTORY_PAGE,
                cursor=cursor,
            )
            for found in page.get("messages", []):
                metadata = found.get("metadata") or {}
                if (
                    metadata.get("event_type") == METADATA_EVENT_TYPE
                    and (metadata.get("event_payload") or {}).get("idempotency_key") == key
                ):
                    return str(found["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        log.warning(
            "searched %d messages of %s for notification %s without reaching %s; posting it",
            self._history_pages * HISTORY_PAGE,
            channel_id,
            key,
            oldest,
        )
        return None

    def _channel_id(self, channel: str) -> str:
        if is_channel_id(channel):
            return channel
        with self._lock:
            cached = self._channel_ids.get(channel)
        if cached is not None:
            return cached
        name = channel.lstrip("#")
        cursor: str | None = None
        while True:
            page = self._call(
                self._client.conversations_list,
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            for found in page.get("channels", []):
                if found.get("name") == name:
                    with self._lock:
                        self._channel_ids[channel] = found["id"]
                    return str(found["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                raise SlackDeliveryError(
                    f"channel {channel} is not visible to the bot: create it and invite the bot, "
                    "or configure the channel by id"
                )

    @staticmethod
    def _call(method: Callable[..., SlackResponse], **arguments: Any) -> SlackResponse:
        with _slack_errors(method.__name__.replace("_", ".")):
            return method(**arguments)


@contextmanager
def _slack_errors(method: str) -> Iterator[None]:
    try:
        yield
    except SlackApiError as exc:
        status = exc.response.status_code
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        if status == 429 or error == "ratelimited":
            # The SDK already waited out the Retry-Afters it was allowed to; the runtime retries later.
            wait = retry_after_s(dict(exc.response.headers or {}))
            raise TransientError(
                f"Slack rate-limited {method}" + (f" (Retry-After {wait:g} s)" if wait else "")
            ) from None
        if status >= 500 or error in TRANSIENT_API_ERRORS:
            raise _Passing(f"Slack {method} failed: HTTP {status} {error or ''}".rstrip()) from None
        raise SlackDeliveryError(f"Slack refused {method}: {error or f'HTTP {status}'}") from None
    except (URLError, TimeoutError, ConnectionError) as exc:
        raise _Passing(f"Slack {method} unreachable: {exc}") from None
    except SlackRequestError as exc:
        raise SlackDeliveryError(f"Slack {method} request is invalid: {exc}") from None
