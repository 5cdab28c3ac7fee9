"""The port through which notifications leave: post one message to one channel."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from .blockkit import SlackMessage

METADATA_EVENT_TYPE = "wave_notification"


@dataclass(frozen=True)
class Posted:
    ts: str | None  # Slack's message timestamp; None when the adapter cannot learn it (webhooks)
    reused: bool = False  # the message had been posted before and was found, not posted again


class SlackDeliveryError(Exception):
    """Slack refused the message for a reason retrying will not fix (unknown channel, bad token,
    invalid blocks). The message names the Slack error, never a token or a webhook URL."""


class SlackSender(ABC):
    """Posts a message to a channel.

    Contract:
    - `post` posts at most one message per `idempotency_key` and channel when `can_read_back` is true:
      if a message carrying the key is already in the channel (posted by an earlier attempt, perhaps
      by a process that crashed before recording it), its ts is returned with `reused=True`.
      `not_before` is when the event behind the message happened: no earlier message can carry its key.
    - Rate limits are waited out; server errors and lost connections are retried a bounded number of
      times; after that `wave_runtime.TransientError` is raised. A refusal that retrying cannot fix
      raises `SlackDeliveryError`.
    - `destination` says where a channel's messages physically land, so one event never posts twice
      to the same place (webhooks without per-route URLs all land in one channel).
    """

    can_read_back: bool = False

    def destination(self, channel: str) -> str:
        return channel

    @abstractmethod
    async def post(
        self, channel: str, message: SlackMessage, *, idempotency_key: str, not_before: datetime
    ) -> Posted: ...
