"""What an answer to each escalation kind does is one table in code and the same table in
docs/events.md; old escalations, stored with only an id, read as v2 with what they were about."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import get_args

import pytest
from wave_events import catalogue as c
from wave_events import escalations, registry

DOCS = Path(__file__).resolve().parents[3] / "docs" / "events.md"
HEAD = "0123456789abcdef0123456789abcdef01234567"


def _docs_table() -> list[tuple[str, ...]]:
    section = DOCS.read_text(encoding="utf-8").split("\n## Escalations\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header, rule, *rows = lines
    assert [cell.strip() for cell in header.strip("|").split("|")] == ["kind", "raised by", "approve", "reject", "who acts"]
    assert set(rule) <= set("|-: ")
    return [tuple(cell.strip() for cell in row.strip("|").split("|")) for row in rows]


def test_the_docs_table_says_what_the_code_table_says() -> None:
    in_code = [
        (f"`{r.kind}`", ", ".join(r.raised_by), r.on_approve.value, r.on_reject.value, ", ".join(r.acts))
        for r in escalations.RULES
    ]
    assert _docs_table() == in_code


def test_every_kind_an_escalation_can_have_has_one_rule() -> None:
    kinds = [r.kind for r in escalations.RULES]
    assert sorted(kinds) == sorted(get_args(c.EscalationKind)) and len(set(kinds)) == len(kinds)


def test_v1_keeps_the_kinds_it_was_stored_with() -> None:
    # `environment` was stored as v1 before v2 existed: it must stay readable as v1.
    assert set(get_args(c.EscalationKindV1)) == {
        "unsafe_action", "retries_exhausted", "budget", "merge_review", "merge_conflict", "invalid_plan",
        "change_rejected", "environment",
    }


def _v1(escalation_id: str, kind: str) -> c.EscalationRequested:
    event = registry.decode("EscalationRequested", 1, {"escalation_id": escalation_id, "kind": kind, "reason": "why"})
    assert isinstance(event, c.EscalationRequested)
    return event


CAUSE = uuid.UUID("12345678123456781234567812345678")

V1_IDS = [
    # (id as a service wrote it, kind, task_id, attempt, head)
    (escalations.retries_exhausted_id("run-7", HEAD), "retries_exhausted", None, None, HEAD[:12]),
    (escalations.merge_review_id("run-7", HEAD), "merge_review", None, None, HEAD[:12]),
    (escalations.merge_conflict_id("run-7", HEAD), "merge_conflict", None, None, HEAD[:12]),
    (escalations.change_rejected_id("run-7", "t-1", 2), "change_rejected", "t-1", 2, None),
    (escalations.developer_no_diff_id("run-7", "api.v2", 3), "change_rejected", "api.v2", 3, None),
    (escalations.developer_budget_id("run-7", "t2", 1, 14), "budget", "t2", 1, None),
    (escalations.budget_id("run-7", CAUSE), "budget", None, None, None),
    (escalations.unsafe_action_id("run-7", CAUSE), "unsafe_action", None, None, None),
    (escalations.invalid_plan_id("run-7", CAUSE), "invalid_plan", None, None, None),
    (escalations.environment_id("run-7", "qa", CAUSE), "environment", None, None, None),
    ("run-7-a-question-of-another-shape", "change_rejected", None, None, None),
]


@pytest.mark.parametrize(("question", "kind", "task_id", "attempt", "head"), V1_IDS, ids=[v[0] for v in V1_IDS])
def test_a_v1_escalation_reads_as_v2_with_what_its_id_said(question, kind, task_id, attempt, head) -> None:
    event = _v1(question, kind)
    assert (event.escalation_id, event.kind) == (question, kind)
    assert (event.task_id, event.attempt, event.head) == (task_id, attempt, head)


def test_a_v1_head_still_names_the_full_commit() -> None:
    event = _v1(escalations.retries_exhausted_id("r1", HEAD), "retries_exhausted")
    assert escalations.about_head(event, HEAD)
    assert not escalations.about_head(event, "f" + HEAD[1:])


def test_v2_refuses_what_is_not_a_task_or_a_commit() -> None:
    with pytest.raises(ValueError, match="task_id"):
        c.EscalationRequested(escalation_id="q", kind="budget", reason="r", task_id="../x")
    with pytest.raises(ValueError, match="head"):
        c.EscalationRequested(escalation_id="q", kind="merge_review", reason="r", head="not-a-commit")
    with pytest.raises(ValueError, match="attempt"):
        c.EscalationRequested(escalation_id="q", kind="budget", reason="r", attempt=0)

