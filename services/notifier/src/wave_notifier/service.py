"""The notifier service: decides what an event is worth saying, posts it, records NotificationSent."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from wave_events import Envelope
from wave_events.catalogue import NotificationSent
from wave_events.projections import RunState
from wave_runtime import Output
from wave_runtime.memo import EffectResults

from .config import Channels
from .decide import HANDLED_EVENT_TYPES, decide
from .sender import Posted, SlackSender

log = logging.getLogger("wave.notifier")

_REMEMBERED_KEYS = 10_000


def notification_key(event_id: uuid.UUID | str, channel: str) -> str:
    """One key per (event, channel): the same event may go to several channels, once each."""
    return f"wave:{event_id}:{channel}"


class NotifierService:
    name = "notifier"

    def __init__(self, sender: SlackSender | None, channels: Channels | None = None) -> None:
        self._sender = sender
        self._channels = channels or Channels()
        self.handles: frozenset[str] = HANDLED_EVENT_TYPES if sender is not None else frozenset()
        # Keys this process posted: a retry of a half-done handle (one channel posted, the next failed)
        # does not repeat the first post even through a sender that cannot read back.
        self._posted: EffectResults[str, Posted] = EffectResults(_REMEMBERED_KEYS)

    @classmethod
    def disabled(cls, channels: Channels | None = None) -> NotifierService:
        return cls(None, channels)

    @property
    def enabled(self) -> bool:
        return self._sender is not None

    async def handle(self, state: RunState, event: Envelope) -> Sequence[Output]:
        if self._sender is None:
            return ()
        outputs: list[Output] = []
        destinations: set[str] = set()
        for notice in decide(state, event):
            channel = self._channels.of(notice.route)
            destination = self._sender.destination(channel)
            if destination in destinations:
                continue  # two routes that land in one channel: one message is enough
            destinations.add(destination)
            key = notification_key(event.event_id, channel)
            posted = self._posted.get(key)
            if posted is None:
                posted = await self._sender.post(
                    channel, notice.message, idempotency_key=key, not_before=event.occurred_at
                )
                self._posted.put(key, posted)
                if not posted.reused:
                    log.info("posted %s for %s %s to %s", notice.kind, event.type, event.event_id, channel)
            outputs.append(
                NotificationSent(
                    channel=channel, idempotency_key=key, source_event_id=event.event_id, message_ts=posted.ts
                )
            )
        return outputs
