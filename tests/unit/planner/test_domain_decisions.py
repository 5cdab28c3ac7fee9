"""The planner, gitops, the developer and safety apply each task's domain policy, and the plan's
dependencies, from the run's events alone."""

from __future__ import annotations

import asyncio

from planner_runs import BASE, DIFF, commit, propose, ready, requested, score, sha
from run_streams import RunStream
from wave_constitution import SafetyPolicy
from wave_developer import decide as developer_decide
from wave_developer.decide import Work
from wave_events import catalogue as c
from wave_events.domains import parse_table
from wave_gitops import decide as gitops_decide
from wave_gitops.decide import ApplyChange
from wave_planner import decide
from wave_safety import SafetyService

TABLE = parse_table(
    """
[[domain]]
name = "payments"
paths = ["shop/payments/**"]
merge_policy = "human"
allow_threshold = 0.9
block_threshold = 0.5
retry_limit = 1
approvers = ["ana"]

[[domain]]
name = "ui"
paths = ["web/**"]
""",
    "test",
)


def planned(*tasks: tuple[str, str, tuple[str, ...]], table=TABLE) -> RunStream:
    """A run planned with (task id, domain, depends on) tasks under `table`, its workspace ready."""
    s = requested()
    s.add(c.PlanCreated(
        tasks=tuple(
            c.PlanTask(task_id=t, domain=d, domains=(d,), depends_on=deps, description=f"do {t}", acceptance_criteria=("ok",))
            for t, d, deps in tasks
        ),
        domain_table=table,
    ))
    ready(s)
    return s


def test_a_payments_change_waits_for_a_person_while_the_ui_change_is_integrated():
    s = planned(("pay", "payments", ()), ("page", "ui", ()))
    pay = propose(s, "pay")
    page = propose(s, "page")
    pay_scored = score(s, pay)
    (question,) = decide(pay_scored.state, pay_scored.event)
    assert isinstance(question, c.EscalationRequested) and question.kind == "task_review"
    assert (question.task_id, question.attempt) == ("pay", 1) and "payments domain" in question.reason
    assert "approvers: ana" in question.reason
    assert gitops_decide(pay_scored.state, pay_scored.event) == ()  # not integrated before the review

    page_scored = score(s, page)
    assert decide(page_scored.state, page_scored.event) == ()
    (apply,) = gitops_decide(page_scored.state, page_scored.event)
    assert isinstance(apply, ApplyChange) and apply.task_id == "page"

    s.add(question)
    approved = s.add(c.HumanDecisionRecorded(escalation_id=question.escalation_id, decision="approve", decided_by="ana (approver)"))
    (apply,) = gitops_decide(approved.state, approved.event)
    assert isinstance(apply, ApplyChange) and apply.task_id == "pay"
    assert approved.state.tasks["pay"].reviewed_by == "ana (approver)"


def test_a_task_waits_for_the_tasks_it_depends_on():
    s = planned(("schema", "ui", ()), ("form", "ui", ("schema",)))
    ready_work = developer_decide(s.state, s.last.event)
    assert [(w.task_id, w.commit) for w in ready_work if isinstance(w, Work)] == [("schema", BASE)]
    scored = score(s, propose(s, "schema"))
    (apply,) = gitops_decide(scored.state, scored.event)
    assert apply.task_id == "schema"
    done = commit(s, "schema", sha(1))
    # The dependent task is written now, against the head that holds its dependency.
    (work,) = developer_decide(done.state, done.event)
    assert isinstance(work, Work) and (work.task_id, work.commit) == ("form", sha(1))


def test_a_change_that_no_longer_applies_is_rewritten_against_the_new_head_before_anyone_is_asked():
    s = planned(("a", "ui", ()), ("b", "ui", ()))
    score(s, propose(s, "a"))
    b = score(s, propose(s, "b"))
    commit(s, "a", sha(1))
    assert b.state.tasks["b"].proposal_base_commit == BASE
    rejected = s.add(c.ChangeRejected(task_id="b", attempt=1, reason="the diff does not apply to web/app.py"))
    (rewrite,) = decide(rejected.state, rejected.event)
    assert isinstance(rewrite, c.RewriteRequested)
    assert (rewrite.task_id, rewrite.attempt, rewrite.head) == ("b", 2, sha(1))
    asked = s.add(rewrite)
    (work,) = developer_decide(asked.state, asked.event)
    assert isinstance(work, Work) and (work.mode, work.commit, work.attempt, work.role) == ("rewrite", sha(1), 2, "developer")


def test_a_change_written_against_the_head_that_does_not_apply_still_asks_a_person():
    s = planned(("a", "ui", ()))
    score(s, propose(s, "a"))
    rejected = s.add(c.ChangeRejected(task_id="a", attempt=1, reason="the diff does not apply"))
    (question,) = decide(rejected.state, rejected.event)
    assert isinstance(question, c.EscalationRequested) and question.kind == "change_rejected"


def test_a_domain_retry_limit_stops_fixes_sooner_than_the_run():
    s = planned(("pay", "payments", ()), table=TABLE)
    for attempt, head in ((1, sha(1)), (2, sha(2))):
        score(s, propose(s, "pay", attempt))
        s.add(c.EscalationRequested(escalation_id=f"r1-review-{attempt}", kind="task_review", reason="r", task_id="pay", attempt=attempt,
                                    subject_event_id=s.state.tasks["pay"].proposal_event_id))
        s.add(c.HumanDecisionRecorded(escalation_id=f"r1-review-{attempt}", decision="approve", decided_by="ana"))
        commit(s, "pay", head, attempt)
        failed = s.add(c.TestsFailed(commit=head, counts=c.TestCounts(failed=1), failing_tests=("tests/test_pay.py::t",),
                                     duration_s=1, sandbox="bwrap"))
        steps = decide(failed.state, failed.event)
        if attempt == 1:
            assert isinstance(steps[0], c.RetryScheduled)
            s.add(steps[0])
            s.add(c.FixRequested(retry=1, task_id="pay", attempt=2, timer_id=steps[0].timer_id))
    (question,) = steps
    assert question.kind == "retries_exhausted" and "payments domain's limit" in question.reason


def test_a_failure_goes_to_the_task_whose_files_the_failing_test_touches():
    s = planned(("a", "ui", ()), ("b", "ui", ()))
    other = "--- a/web/b.py\n+++ b/web/b.py\n@@ -1 +1 @@\n-x\n+y\n"
    score(s, s.add(c.ChangeProposed(task_id="a", attempt=1, diff=DIFF, base_commit=BASE)))
    score(s, s.add(c.ChangeProposed(task_id="b", attempt=1, diff=other.replace("web/b.py", "tests/test_b.py"), base_commit=BASE)))
    commit(s, "a", sha(1))
    commit(s, "b", sha(2))
    failed = s.add(c.TestsFailed(commit=sha(2), counts=c.TestCounts(failed=1), failing_tests=("tests/test_b.py::test_it",),
                                 duration_s=1, sandbox="bwrap"))
    retry, timer = decide(failed.state, failed.event)
    assert timer.event.task_id == "b" and "fixing task b" in retry.reason
    # A failing test no task wrote or named: the task that made the head gets it, as before.
    failed = s.add(c.TestsFailed(commit=sha(2), counts=c.TestCounts(failed=1), failing_tests=("tests/test_x.py::t",),
                                 duration_s=1, sandbox="bwrap"))
    retry, timer = decide(failed.state, failed.event)
    assert timer.event.task_id == "b"
    failed = s.add(c.TestsFailed(commit=sha(2), counts=c.TestCounts(failed=1), failing_tests=("app.py::t",),
                                 duration_s=1, sandbox="bwrap"))
    retry, timer = decide(failed.state, failed.event)
    assert timer.event.task_id == "a" and "fixing task a" in retry.reason


def test_the_payments_thresholds_make_a_middling_score_a_question():
    table = parse_table(
        "[[domain]]\nname = 'payments'\nallow_threshold = 0.9\nblock_threshold = 0.5\n"
        "[[domain]]\nname = 'ui'\nallow_threshold = 0.5\nblock_threshold = 0.1\n",
        "test",
    )
    s = planned(("pay", "payments", ()), ("page", "ui", ()), table=table)
    service = SafetyService(SafetyPolicy(allow_threshold=0.6, block_threshold=0.2))
    # A change to a dotfile shells run is a low-severity finding: it scores 0.65.
    diff = "--- a/.envrc\n+++ b/.envrc\n@@ -1 +1,2 @@\n x=1\n+export A=1\n"
    verdicts = {}
    for task in ("pay", "page"):
        proposed = s.add(c.ChangeProposed(task_id=task, attempt=1, diff=diff, base_commit=BASE))
        (scored,) = asyncio.run(service.handle(proposed.state, proposed.event))
        verdicts[task] = (scored.score, scored.verdict, scored.policy_version == service.policy.version)
    # payments is stricter than this deployment; ui is looser, and a domain never loosens it.
    assert verdicts == {"pay": (0.65, "escalate", False), "page": (0.65, "allow", True)}


def _two_tasks_wrote_failing_tests() -> RunStream:
    s = planned(("a", "ui", ()), ("b", "ui", ()), ("c", "ui", ()))
    for task, n in (("a", 1), ("b", 2), ("c", 3)):
        diff = DIFF.replace("app.py", f"tests/test_{task}.py")
        score(s, s.add(c.ChangeProposed(task_id=task, attempt=1, diff=diff, base_commit=BASE)))
        commit(s, task, sha(n))
    s.add(c.TestsFailed(commit=sha(3), counts=c.TestCounts(failed=2), duration_s=1, sandbox="bwrap",
                        failing_tests=("tests/test_c.py::test_it", "tests/test_a.py::test_it")))
    return s


def test_a_failure_traced_to_two_tasks_fixes_both_in_one_retry():
    s = _two_tasks_wrote_failing_tests()
    retry, timer = decide(s.state, s.last.event)
    assert retry.retry == 1 and retry.reason.endswith("fixing tasks a, c")
    fix = timer.event
    assert [(a.task_id, a.attempt) for a in fix.attempts] == [("a", 2), ("c", 2)]
    # One timer, one event: both tasks' attempts open together, so the head is not tested half fixed.
    s.add(retry)
    asked = s.add(fix)
    assert {t: (asked.state.tasks[t].attempt, asked.state.tasks[t].commit) for t in "abc"} == {
        "a": (2, None), "b": (1, sha(2)), "c": (2, None),
    }
    assert asked.state.retries == 1 and not asked.state.pending_timers and not asked.state.gates["G4 committed"]
    # The developer writes both side by side against the head, from the one request.
    work = developer_decide(asked.state, asked.event)
    assert [(w.task_id, w.attempt, w.mode, w.commit) for w in work] == [("a", 2, "fix", sha(3)), ("c", 2, "fix", sha(3))]


def test_a_failure_traced_to_a_task_at_its_domain_limit_asks_a_person():
    s = planned(("web", "ui", ()), ("pay", "payments", ()), table=TABLE)
    score(s, s.add(c.ChangeProposed(task_id="web", attempt=1, diff=DIFF.replace("app.py", "tests/test_web.py"), base_commit=BASE)))
    commit(s, "web", sha(1))
    pay_diff = DIFF.replace("app.py", "tests/test_pay.py")
    for attempt, head in ((1, sha(2)), (2, sha(3))):
        score(s, s.add(c.ChangeProposed(task_id="pay", attempt=attempt, diff=pay_diff, base_commit=BASE)))
        s.add(c.EscalationRequested(escalation_id=f"r1-review-{attempt}", kind="task_review", reason="r", task_id="pay",
                                    attempt=attempt, subject_event_id=s.state.tasks["pay"].proposal_event_id))
        s.add(c.HumanDecisionRecorded(escalation_id=f"r1-review-{attempt}", decision="approve", decided_by="ana"))
        commit(s, "pay", head, attempt)
        failed = s.add(c.TestsFailed(commit=head, counts=c.TestCounts(failed=2), duration_s=1, sandbox="bwrap",
                                     failing_tests=("tests/test_web.py::t", "tests/test_pay.py::t")))
        steps = decide(failed.state, failed.event)
        if attempt == 1:
            assert [(a.task_id, a.attempt) for a in steps[1].event.attempts] == [("web", 2), ("pay", 2)]
            s.add(steps[0])
            s.add(steps[1].event)
            score(s, s.add(c.ChangeProposed(task_id="web", attempt=2, diff=DIFF.replace("app.py", "tests/test_web.py"),
                                            base_commit=sha(2))))
            commit(s, "web", sha(4), 2)
    # The payments task has had its one fix: a person is asked, nothing is sent to the web task alone.
    (question,) = steps
    assert question.kind == "retries_exhausted" and "of task pay, the payments domain's limit" in question.reason
    assert question.tasks == ("web", "pay"), "the tasks one more fix would go to"


def _exhausted_on_a_test_task_a_wrote(tasks: tuple[str, ...]) -> RunStream:
    """Task b made the failing head, but the failing test is in the file task a wrote; the run asked a
    person whether to fix once more, recording `tasks` as the ones to fix (none before v3)."""
    s = planned(("a", "ui", ()), ("b", "ui", ()))
    score(s, s.add(c.ChangeProposed(task_id="a", attempt=1, diff=DIFF.replace("app.py", "tests/test_a.py"), base_commit=BASE)))
    score(s, s.add(c.ChangeProposed(task_id="b", attempt=1, diff=DIFF.replace("app.py", "web/b.py"), base_commit=BASE)))
    commit(s, "a", sha(1))
    commit(s, "b", sha(2))
    failed = s.add(c.TestsFailed(commit=sha(2), counts=c.TestCounts(failed=1), failing_tests=("tests/test_a.py::t",),
                                 duration_s=1, sandbox="bwrap"))
    s.add(c.EscalationRequested(escalation_id="r1-exhausted", kind="retries_exhausted", reason="no retries left",
                                subject_event_id=failed.event.event_id, head=sha(2), tasks=tasks))
    s.add(c.HumanDecisionRecorded(escalation_id="r1-exhausted", decision="approve", decided_by="ana"))
    return s


def test_one_more_fix_a_person_grants_goes_to_the_tasks_the_failure_was_traced_to():
    s = _exhausted_on_a_test_task_a_wrote(("a",))
    retry, fix = decide(s.state, s.last.event)
    assert [(t.task_id, t.attempt) for t in fix.attempts] == [("a", 2)]
    assert retry.reason == "ana granted one more fix attempt for task a"


def test_one_more_fix_asked_before_the_traced_tasks_were_recorded_goes_to_the_head_task_as_it_did():
    s = _exhausted_on_a_test_task_a_wrote(())
    _, fix = decide(s.state, s.last.event)
    assert [(t.task_id, t.attempt) for t in fix.attempts] == [("b", 2)]
