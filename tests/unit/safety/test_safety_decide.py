"""Safety's pure decisions: which change a ChangeProposed asks to score, and the ActionScored a verdict
becomes. Hand-written verdicts in, events out."""

from __future__ import annotations

from wave_constitution import Diff, SafetyVerdict
from wave_constitution import Violation as RuleViolation
from wave_events import new_envelope, run_stream_id
from wave_events.catalogue import ActionScored, ChangeProposed, RunRequested, Violation, WithheldSecret
from wave_events.projections import RunState
from wave_safety import action_scored, decide

STREAM = run_stream_id("r1")
DIFF = "--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-a\n+b\n"


def proposal(**fields) -> ChangeProposed:
    return ChangeProposed(**{"task_id": "t1", "attempt": 2, "diff": DIFF, "base_commit": "a" * 40, **fields})


def verdict(**fields) -> SafetyVerdict:
    return SafetyVerdict(**{"score": 1.0, "verdict": "allow", "violations": (), "policy_version": "p-7", **fields})


def test_a_proposed_diff_is_the_change_to_score() -> None:
    event = new_envelope(STREAM, proposal(), producer="developer")
    change = decide(RunState(run_id="r1"), event)
    assert change is not None
    assert change.action == Diff(DIFF, ())
    assert change.proposal == event.payload


def test_withheld_secrets_reach_the_analyzers_as_places_never_values() -> None:
    withheld = (WithheldSecret(path=".env", line=3, kind="anthropic-key"),)
    event = new_envelope(STREAM, proposal(diff="", withheld=withheld), producer="developer")
    change = decide(RunState(run_id="r1"), event)
    assert change is not None and change.action == Diff("", ((".env", 3, "anthropic-key"),))


def test_an_event_that_proposes_no_change_decides_nothing() -> None:
    event = new_envelope(STREAM, RunRequested(story="s", repo="/srv/repo", budget_usd=1.0), producer="cli")
    assert decide(RunState(run_id="r1"), event) is None


def test_an_allowed_change_is_scored_for_its_task_attempt_and_policy() -> None:
    event = new_envelope(STREAM, proposal(), producer="developer")
    change = decide(RunState(run_id="r1"), event)
    assert change is not None
    assert action_scored(event, change, verdict()) == ActionScored(
        target_event_id=event.event_id,
        action_kind="diff",
        task_id="t1",
        attempt=2,
        score=1.0,
        verdict="allow",
        policy_version="p-7",
    )


def test_a_blocked_change_lists_each_violation_with_its_principle() -> None:
    event = new_envelope(STREAM, proposal(), producer="developer")
    change = decide(RunState(run_id="r1"), event)
    assert change is not None
    violations = (
        RuleViolation("never_touch_files_outside_worktree", "diff.git_dir", ".git/hooks/pre-commit"),
        RuleViolation("never_expose_secrets", "diff.secret", ""),
    )
    scored = action_scored(event, change, verdict(score=0.1, verdict="block", violations=violations))
    assert (scored.score, scored.verdict, scored.risks) == (0.1, "block", ())
    assert scored.violations == (
        Violation(principle="never_touch_files_outside_worktree", rule="diff.git_dir", detail=".git/hooks/pre-commit"),
        Violation(principle="never_expose_secrets", rule="diff.secret", detail=""),
    )


def test_the_judges_reason_is_kept_as_a_risk() -> None:
    event = new_envelope(STREAM, proposal(), producer="developer")
    change = decide(RunState(run_id="r1"), event)
    assert change is not None
    judged = verdict(score=0.5, verdict="escalate").judged("allow", "CI change only adds a cache step")
    scored = action_scored(event, change, judged)
    assert (scored.score, scored.verdict) == (0.5, "allow")
    assert scored.risks == ("judge: CI change only adds a cache step",)
