"""The run summary: a pure fold of a run's events into one `RunSummarized`."""

from datetime import UTC, datetime, timedelta

from run_stories import happy_run
from run_streams import RunStream, sha
from wave_events import catalogue as c
from wave_events.projections import GATES, fold, summarize, summary_of
from wave_events.projections.summary import changed_paths

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

DIFF = """diff --git a/src/slug.py b/src/slug.py
--- a/src/slug.py
+++ b/src/slug.py
@@ -1 +1 @@
-a
+b
diff --git a/old.txt b/old.txt
deleted file mode 100644
--- a/old.txt
+++ /dev/null
@@ -1 +0,0 @@
-gone
"""


def timed_run() -> RunStream:
    """A run with a failing first attempt, a person's decision and model calls, one minute per event."""
    s = RunStream(occurred_at=T0)

    def at(minute: int) -> RunStream:
        s.occurred_at = T0 + timedelta(minutes=minute)
        return s

    at(0).add(c.RunRequested(story="add slugify\nmore", repo="/srv/app", budget_usd=2.0))
    at(1).add(c.LLMCallRecorded(role="planner", provider="anthropic", model="m", input_tokens=100, output_tokens=20,
                                cost_usd=0.01, latency_ms=5))
    at(1).add(c.PlanCreated(tasks=(c.PlanTask(task_id="t1", domain="d", description="d", acceptance_criteria=("a",)),)))
    at(2).add(c.WorkspaceReady(branch="wave/r1", base_commit=sha(1), location="/srv/app"))
    for attempt, minute in ((1, 3), (2, 10)):
        at(minute).add(c.LLMCallRecorded(role="developer", provider="openai", model="m", input_tokens=1000,
                                         output_tokens=200, cost_usd=0.1, latency_ms=5))
        change = at(minute).add(c.ChangeProposed(task_id="t1", attempt=attempt, diff=DIFF, base_commit=sha(attempt)))
        at(minute + 1).add(c.ActionScored(target_event_id=change.event.event_id, action_kind="diff", task_id="t1",
                                          attempt=attempt, score=0.5, verdict="escalate", policy_version="p1"))
        question = f"e{attempt}"
        at(minute + 1).add(c.EscalationRequested(escalation_id=question, kind="unsafe_action", reason="touches CI",
                                                 subject_event_id=change.event.event_id))
        at(minute + 2).add(c.HumanDecisionRecorded(escalation_id=question, decision="approve", decided_by="ana",
                                                   comment="fine" if attempt == 1 else ""))
        at(minute + 3).add(c.ChangeCommitted(task_id="t1", attempt=attempt, commit=sha(attempt + 1),
                                             parent=sha(attempt), branch="wave/r1"))
        if attempt == 1:
            at(6).add(c.TestsFailed(commit=sha(2), counts=c.TestCounts(passed=3, failed=1), failing_tests=("t::x",),
                                    duration_s=4, sandbox="bwrap"))
            at(6).add(c.RetryScheduled(retry=1, due_at=T0, delay_s=2, reason="tests failed on 000", timer_id="r-1"))
            at(7).add(c.FixRequested(retry=1, task_id="t1", attempt=2, timer_id="r-1"))
    at(14).add(c.TestsPassed(commit=sha(3), counts=c.TestCounts(passed=4), duration_s=3, sandbox="bwrap"))
    at(15).add(c.MergeApproved(approver="policy", reviewer="policy:auto"))
    at(16).add(c.Merged(target_branch="main", merge_commit=sha(9), fast_forward=False))
    at(16).add(c.RunCompleted(merge_commit=sha(9)))
    return s


def test_a_completed_run_is_summarized_with_gates_retries_tests_spend_and_decisions():
    summary = summarize(timed_run().events)
    assert summary is not None
    assert (summary.outcome, summary.merge_commit, summary.story) == ("completed", sha(9), "add slugify\nmore")
    assert (summary.started_at, summary.ended_at, summary.duration_s) == (T0, T0 + timedelta(minutes=16), 960)
    passed = {g.gate: (g.passed_at, g.took_s) for g in summary.gates}
    assert list(passed) == list(GATES)
    minute = lambda n: T0 + timedelta(minutes=n)  # noqa: E731
    # G2..G4 reopened with the fix: they count from the second attempt.
    assert passed == {
        "G0 planned": (minute(1), 60), "G1 workspace": (minute(2), 60), "G2 implemented": (minute(10), 480),
        "G3 safe": (minute(12), 120), "G4 committed": (minute(13), 60), "G5 tested": (minute(14), 60),
        "G6 approved": (minute(15), 60), "G7 merged": (minute(16), 60),
    }
    assert [(r.retry, r.reason) for r in summary.retries] == [(1, "tests failed on 000")]
    assert [(t.commit, t.passed, t.failing_tests) for t in summary.tests] == [(sha(2), False, ("t::x",)), (sha(3), True, ())]
    assert summary.files_changed == ("src/slug.py", "old.txt")
    assert [(s.role, s.provider, s.calls, s.input_tokens + s.output_tokens, s.cost_usd) for s in summary.spend] == [
        ("developer", "openai", 2, 2400, 0.2), ("planner", "anthropic", 1, 120, 0.01),
    ]
    assert (summary.cost_usd, summary.tokens) == (0.21, 2520)
    assert [(d.escalation_id, d.kind, d.decision, d.decided_by, d.decided_at, d.comment) for d in summary.decisions] == [
        ("e1", "unsafe_action", "approve", "ana", minute(5), "fine"),
        ("e2", "unsafe_action", "approve", "ana", minute(12), ""),
    ]


def test_an_unfinished_run_has_no_summary_and_a_failed_one_keeps_its_open_gates_empty():
    stream = happy_run(tasks=1, fail_first=False)
    assert summarize(stream.events[:-3]) is None
    s = RunStream(occurred_at=T0)
    s.add(c.RunRequested(story="x", repo="/r", budget_usd=1))
    s.occurred_at = T0 + timedelta(seconds=30)
    s.add(c.RunFailed(reason="no workspace"))
    summary = summary_of(fold(s.events))
    assert summary is not None
    assert (summary.outcome, summary.reason, summary.duration_s) == ("failed", "no workspace", 30)
    assert all(g.passed_at is None and g.took_s is None for g in summary.gates)


def test_the_summary_ends_at_the_first_terminal_event():
    s = happy_run(tasks=1, fail_first=False)
    first = s.events[-1]
    s.add(c.RunCancelled(cancelled_by="bob"))
    state = fold(s.events)
    assert state.facts.ended_by == str(first.event_id)
    assert summary_of(state).ended_at == first.occurred_at


def test_changed_paths_reads_new_and_deleted_files_once():
    assert changed_paths(DIFF + DIFF) == ["src/slug.py", "old.txt"]
    assert changed_paths("--- a/x\n+++ b/y\t2026-01-01\n") == ["y"]
