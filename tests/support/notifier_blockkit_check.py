"""Checks a message against Slack's Block Kit rules (https://api.slack.com/reference/block-kit), written
from Slack's reference independently of the notifier's own constants, plus slack_sdk's model checks."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

_BLOCK_TYPES = {"header", "section", "context", "actions", "divider"}


def _text(obj: dict[str, Any], limit: int, kinds: tuple[str, ...] = ("plain_text", "mrkdwn")) -> None:
    assert obj["type"] in kinds, obj
    assert isinstance(obj["text"], str) and obj["text"], obj
    assert len(obj["text"]) <= limit, f"{obj['type']} text of {len(obj['text'])} characters (limit {limit})"


def assert_valid_message(message: Any) -> None:
    assert message.text and len(message.text) <= 4000
    blocks = list(message.blocks)
    assert 1 <= len(blocks) <= 50
    for block in blocks:
        kind = block["type"]
        assert kind in _BLOCK_TYPES, kind
        if kind == "header":
            _text(block["text"], 150, ("plain_text",))
        elif kind == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                _text(block["text"], 3000)
            for cell in block.get("fields", []):
                _text(cell, 2000)
            assert len(block.get("fields", [])) <= 10
        elif kind == "context":
            assert 1 <= len(block["elements"]) <= 10
            for element in block["elements"]:
                _text(element, 3000)
        elif kind == "actions":
            assert 1 <= len(block["elements"]) <= 25
            for element in block["elements"]:
                assert element["type"] == "button"
                _text(element["text"], 75, ("plain_text",))
                assert len(element["action_id"]) <= 255
                assert 1 <= len(element["value"]) <= 2000
                assert element.get("style") in (None, "primary", "danger")
        Block.parse(block).validate_json()  # the SDK's own model checks


def all_text(message: Any) -> str:
    """Everything a reader of the message sees, in order."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                parts.append(node["text"])
            for value in node.values():
                if isinstance(value, dict | list):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(list(message.blocks))
    return "\n".join(parts)
