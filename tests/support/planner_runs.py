"""Run streams for planner tests: each added event comes back with the run folded up to and including
it, which is what the runtime hands a service; helpers drive a run to the point a test needs."""

from __future__ import annotations

from datetime import UTC, datetime

from run_streams import RunStream, Step
from run_streams import plan as plan  # re-exported: the tests of this service take it from here
from wave_events import catalogue as c

BASE = "b" * 40
DIFF = "--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-x\n+y\n"
AT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def sha(n: int) -> str:
    """A commit id that reads as its number: sha(2) == "ccc…c2"."""
    return f"{n}".rjust(40, "c")


def requested(run_id: str = "r1", **options) -> RunStream:
    stream = RunStream(run_id, occurred_at=AT)
    fields = dict(story="make prices include tax", repo="/srv/shop", budget_usd=5.0) | options
    stream.add(c.RunRequested(**fields))
    return stream


def ready(stream: RunStream) -> Step:
    return stream.add(c.WorkspaceReady(branch=f"wave/{stream.run_id}", base_commit=BASE, location="/srv/shop"))


def propose(stream: RunStream, task_id: str, attempt: int = 1) -> Step:
    return stream.add(c.ChangeProposed(task_id=task_id, attempt=attempt, diff=DIFF, base_commit=BASE))


def score(stream: RunStream, proposal: Step, verdict: str = "allow", score_: float | None = None) -> Step:
    p = proposal.event.payload
    return stream.add(
        c.ActionScored(
            target_event_id=proposal.event.event_id, action_kind="diff", task_id=p.task_id, attempt=p.attempt,
            score=score_ if score_ is not None else {"allow": 0.95, "escalate": 0.5, "block": 0.1}[verdict],
            verdict=verdict,
            violations=() if verdict == "allow" else (c.Violation(principle="secrets", rule="secret-in-diff"),),
            policy_version="p1",
        )
    )


def commit(stream: RunStream, task_id: str, commit_id: str, attempt: int = 1) -> Step:
    parent = stream.state.head_commit or BASE
    return stream.add(c.ChangeCommitted(task_id=task_id, attempt=attempt, commit=commit_id, parent=parent, branch="wave/r1"))


def implement(stream: RunStream, task_id: str, commit_id: str, attempt: int = 1) -> Step:
    """Propose, score allow and commit one task's change."""
    score(stream, propose(stream, task_id, attempt))
    return commit(stream, task_id, commit_id, attempt)


def committed(*task_ids: str, **options) -> RunStream:
    """A run whose tasks are all proposed, allowed and committed; task n's commit is sha(n)."""
    stream = requested(**options)
    plan(stream, *(task_ids or ("t1",)))
    ready(stream)
    for n, task in enumerate(task_ids or ("t1",), start=1):
        implement(stream, task, sha(n))
    return stream


def failed(stream: RunStream, commit_id: str | None = None, excerpt: str = "E assert 1 == 2") -> Step:
    return stream.add(
        c.TestsFailed(
            commit=commit_id or stream.state.head_commit, counts=c.TestCounts(passed=3, failed=1),
            failure_excerpt=excerpt, duration_s=1.0, sandbox="bwrap",
        )
    )


def passed(stream: RunStream, commit_id: str | None = None) -> Step:
    return stream.add(
        c.TestsPassed(commit=commit_id or stream.state.head_commit, counts=c.TestCounts(passed=4), duration_s=1.0, sandbox="bwrap")
    )


def decided(stream: RunStream, escalation: str, decision: str = "approve", by: str = "ana", comment: str = "") -> Step:
    return stream.add(c.HumanDecisionRecorded(escalation_id=escalation, decision=decision, decided_by=by, comment=comment))
