"""Block Kit pieces that always respect Slack's limits: text from events is escaped and truncated, so a
long reason or story can never make Slack refuse a message."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Slack's documented limits (https://api.slack.com/reference/block-kit).
MAX_BLOCKS = 50
HEADER_TEXT = 150
SECTION_TEXT = 3000
FIELD_TEXT = 2000
MAX_FIELDS = 10
CONTEXT_ELEMENTS = 10
CONTEXT_TEXT = 3000
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTION_ID = 255
MAX_ELEMENTS = 25
# Slack cuts the top-level text at 40,000 characters but advises staying under 4,000.
FALLBACK_TEXT = 3000

ELLIPSIS = "…"
_DANGLING_ENTITY = re.compile(r"&[a-z]{0,3}$")

Block = dict[str, Any]


@dataclass(frozen=True)
class SlackMessage:
    """What is posted: the blocks people see and the plain text notifications and old clients show."""

    text: str
    blocks: tuple[Block, ...]

    def __post_init__(self) -> None:
        if not self.text:
            raise ValueError("a Slack message needs a fallback text")
        if len(self.blocks) > MAX_BLOCKS:
            raise ValueError(f"a Slack message holds at most {MAX_BLOCKS} blocks, got {len(self.blocks)}")


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    # Never leave half of an escape sequence such as "&am" before the ellipsis.
    return _DANGLING_ENTITY.sub("", cut) + ELLIPSIS


def escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters; text from events must show literally."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> dict[str, str]:
    """Already-formatted mrkdwn (callers escape what came from events)."""
    return {"type": "mrkdwn", "text": truncate(text, limit)}


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_TEXT)}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def fields(pairs: Sequence[tuple[str, str]]) -> Block:
    """A two-column section of `*label*\\nvalue` cells; values are escaped here."""
    cells = [mrkdwn(f"*{label}*\n{escape(value)}", FIELD_TEXT) for label, value in pairs[:MAX_FIELDS]]
    return {"type": "section", "fields": cells}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t, CONTEXT_TEXT) for t in texts[:CONTEXT_ELEMENTS]]}


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    if len(value) > BUTTON_VALUE or len(action_id) > ACTION_ID:
        raise ValueError(f"button {action_id[:40]!r}: value or action id longer than Slack allows")
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT),
        "action_id": action_id,
        "value": value,
    }
    if style is not None:
        element["style"] = style
    return element


def actions(elements: Sequence[dict[str, Any]]) -> Block:
    return {"type": "actions", "elements": list(elements[:MAX_ELEMENTS])}


def divider() -> Block:
    return {"type": "divider"}


def fallback(text: str) -> str:
    return truncate(escape(text), FALLBACK_TEXT)
