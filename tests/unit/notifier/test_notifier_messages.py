"""The Block Kit messages: valid shapes within Slack's limits, and the facts a reader needs."""

from __future__ import annotations

import pytest
from notifier_blockkit_check import all_text, assert_valid_message
from wave_events.projections import GATES
from wave_notifier import messages

LONG = "a very long story " * 800  # ~14,000 characters


def _gates(passed: int) -> dict[str, bool]:
    return {gate: i < passed for i, gate in enumerate(GATES)}


def _all_messages(text: str = "why") -> list[messages.SlackMessage]:
    return [
        messages.run_started(
            "r1",
            story=text,
            repo="/srv/app",
            target_branch="main",
            budget_usd=2.5,
            merge_policy="auto",
            requested_by="ana",
        ),
        messages.gate_passed("r1", gate=GATES[3], gates=_gates(4), detail=text),
        messages.escalation(
            "r1", escalation_id="esc-7", kind="unsafe_action", reason=text, options=("approve", "reject")
        ),
        messages.safety_violation(
            "r1",
            verdict="block",
            score=0.12,
            action_kind="diff",
            policy_version="policy-3",
            task_id="t1",
            attempt=2,
            rules=[messages.RuleBroken("secret-in-diff", "never expose secrets", text)] * 14,
            risks=(text,),
        ),
        messages.budget_warning(
            "r1",
            percent=90,
            used_usd=1.8,
            limit_usd=2.0,
            used_tokens=9_000,
            limit_tokens=10_000,
            blocked_call=text,
        ),
        messages.run_finished("r1", outcome="failed", reason=text),
        messages.run_finished("r1", outcome="completed", merge_commit="ab" * 20),
    ]


@pytest.mark.parametrize(
    "text", ["short reason", LONG, "<!channel> & <@U123|x> " * 400], ids=["short", "long", "markup"]
)
def test_every_message_is_valid_block_kit_whatever_the_event_says(text: str) -> None:
    for message in _all_messages(text):
        assert_valid_message(message)


def test_long_text_is_truncated_with_an_ellipsis_not_dropped() -> None:
    message = messages.run_finished("r1", outcome="failed", reason=LONG)
    shown = message.blocks[1]["text"]["text"]
    assert shown.startswith("a very long story")
    assert shown.endswith("…") and len(shown) == 3000
    assert message.text.endswith("…")


def test_text_from_events_cannot_mention_or_link_in_slack() -> None:
    message = messages.run_finished("r1", outcome="failed", reason="ping <!channel> & see <http://x|here>")
    text = all_text(message)
    assert "<!channel>" not in text and "<http://x|here>" not in text
    assert "&lt;!channel&gt; &amp; see" in text
    assert "<!channel>" not in message.text


def test_truncation_never_leaves_half_an_escaped_character() -> None:
    message = messages.run_finished("r1", outcome="failed", reason="&" * 5000)
    shown = message.blocks[1]["text"]["text"]
    assert shown.removesuffix("…").endswith("&amp;")


def test_run_started_shows_the_story_repository_budget_and_who_asked() -> None:
    message = messages.run_started(
        "r42",
        story="add a /health endpoint\nwith a test",
        repo="git@host:app.git",
        target_branch="develop",
        budget_usd=12.5,
        merge_policy="human",
        requested_by="ana",
    )
    text = all_text(message)
    assert message.blocks[0]["type"] == "header" and "r42 started" in message.blocks[0]["text"]["text"]
    for fact in (
        ">add a /health endpoint\n>with a test",
        "git@host:app.git",
        "develop",
        "$12.50",
        "human",
        "ana",
    ):
        assert fact in text
    assert "r42" in message.text and "add a /health endpoint" in message.text


def test_gate_passed_shows_which_gates_hold() -> None:
    message = messages.gate_passed("r1", gate=GATES[2], gates=_gates(3))
    progress = message.blocks[1]["text"]["text"]
    assert "✅ G2 implemented" in progress and "⬜ G3 safe" in progress
    assert message.text == "Run r1: gate G2 implemented passed"


def test_escalation_says_what_to_run_and_offers_one_button_per_option() -> None:
    message = messages.escalation(
        "r9",
        escalation_id="esc-3",
        kind="retries_exhausted",
        reason="tests keep failing",
        options=("approve", "reject"),
    )
    text = all_text(message)
    assert "wave approve r9 --decision approve|reject" in text
    assert "tests keep failing" in text and "retries exhausted" in text and "esc-3" in text
    (buttons,) = [b for b in message.blocks if b["type"] == "actions"]
    assert [(e["text"]["text"], e["value"], e["style"]) for e in buttons["elements"]] == [
        ("Approve", "esc-3", "primary"),
        ("Reject", "esc-3", "danger"),
    ]
    assert {e["action_id"] for e in buttons["elements"]} == {
        "wave_escalation_approve",
        "wave_escalation_reject",
    }
    assert "wave approve r9 --decision approve|reject" in message.text


def test_escalation_with_an_id_too_long_for_a_button_keeps_the_command() -> None:
    message = messages.escalation(
        "r9", escalation_id="e" * 2500, kind="merge_review", reason="review", options=("approve",)
    )
    assert not [b for b in message.blocks if b["type"] == "actions"]
    assert "wave approve r9 --decision approve" in all_text(message)
    assert_valid_message(message)


def test_a_budget_stop_tells_how_to_top_up_and_offers_only_to_reject() -> None:
    message = messages.escalation(
        "r9", escalation_id="budget-1", kind="budget", reason="out of budget", options=("approve", "reject")
    )
    text = all_text(message)
    assert "wave budget r9 --usd NEW_LIMIT" in text and "wave budget r9 --usd NEW_LIMIT" in message.text
    assert "wave approve" not in text and "wave approve" not in message.text
    (buttons,) = [b for b in message.blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in buttons["elements"]] == ["wave_escalation_reject"]
    assert_valid_message(message)


def test_safety_violation_names_verdict_score_and_rules() -> None:
    rules = [
        messages.RuleBroken("secret-in-diff", "never expose secrets", "AWS key in settings.py"),
        messages.RuleBroken("ci-file", "never touch CI without approval"),
    ]
    message = messages.safety_violation(
        "r1",
        verdict="escalate",
        score=0.55,
        action_kind="diff",
        policy_version="policy-3",
        task_id="t2",
        attempt=1,
        rules=rules,
    )
    text = all_text(message)
    for fact in (
        "escalate",
        "0.55",
        "secret-in-diff",
        "never expose secrets",
        "AWS key in settings.py",
        "ci-file",
        "t2 (attempt 1)",
        "policy-3",
    ):
        assert fact in text
    assert "needs approval" in message.blocks[0]["text"]["text"]
    assert (
        message.text
        == "Run r1: safety verdict escalate (score 0.55) on a diff; rules: secret-in-diff, ci-file"
    )


def test_many_violations_are_summarised() -> None:
    rules = [messages.RuleBroken(f"rule-{i}") for i in range(25)]
    message = messages.safety_violation(
        "r1", verdict="block", score=0.0, action_kind="command", policy_version="p", rules=rules
    )
    text = all_text(message)
    assert "rule-9" in text and "rule-10" not in text.split("Rules broken")[1].split("more")[0]
    assert "and 15 more" in text


def test_budget_warning_shows_percent_and_use_against_limit() -> None:
    message = messages.budget_warning(
        "r1", percent=75, used_usd=1.5, limit_usd=2.0, used_tokens=7_500, limit_tokens=10_000
    )
    text = all_text(message)
    assert "75% of the budget used" in message.blocks[0]["text"]["text"]
    assert "$1.50 of $2.00" in text and "7,500 of 10,000" in text
    assert message.text == "Run r1 has used 75% of its budget: $1.50 of $2.00, 7,500 of 10,000 tokens"


def test_run_finished_shows_the_merge_commit_or_the_reason() -> None:
    merged = messages.run_finished(
        "r1", outcome="completed", merge_commit="0123456789abcdef" * 2 + "01234567"
    )
    assert "Merged as `0123456789ab`" in all_text(merged)
    assert "0123456789abcdef0123456789abcdef01234567" in all_text(merged)
    assert merged.text == "Run r1 completed: merged as 0123456789ab"
    blocked = messages.run_finished("r1", outcome="blocked", reason="approver said no")
    assert "approver said no" in all_text(blocked) and "blocked" in blocked.blocks[0]["text"]["text"]


def test_an_unknown_outcome_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown run outcome 'exploded'"):
        messages.run_finished("r1", outcome="exploded")
