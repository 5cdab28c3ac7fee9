"""Property tests: folding is chunk-independent and survives the codec."""

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st
from run_streams import RunStream, sha
from wave_events import catalogue as c
from wave_events import decode_envelope, encode_envelope
from wave_events.projections import RunState, fold


@st.composite
def run_streams(draw) -> RunStream:
    """A valid run: requested, planned, then a random walk over what can happen next."""
    s = RunStream()
    s.add(c.RunRequested(story=draw(st.text(min_size=1, max_size=30)), repo="/r", budget_usd=draw(st.floats(0, 50)),
                         budget_tokens=draw(st.integers(0, 10**6)), max_retries=draw(st.integers(0, 5))))
    n_tasks = draw(st.integers(1, 3))
    tasks = [f"t{i}" for i in range(1, n_tasks + 1)]
    s.add(c.PlanCreated(tasks=tuple(c.PlanTask(task_id=t, domain="d", description="d", acceptance_criteria=("a",))
                                    for t in tasks)))
    attempts = dict.fromkeys(tasks, 1)
    head, retry, escalations = 1, 0, []
    for _ in range(draw(st.integers(0, 25))):
        step = draw(st.sampled_from(["workspace", "propose", "commit", "tests", "retry", "budget", "escalate",
                                     "decide", "approve", "merge", "llm"]))
        task = draw(st.sampled_from(tasks))
        if step == "workspace":
            s.add(c.WorkspaceReady(branch="wave/r1", base_commit=sha(1), location="/r"))
        elif step == "propose":
            p = s.add(c.ChangeProposed(task_id=task, attempt=attempts[task], diff="d", base_commit=sha(head)))
            s.add(c.ActionScored(target_event_id=p.event.event_id, action_kind="diff", task_id=task, attempt=attempts[task],
                                 score=draw(st.floats(0, 1)), verdict=draw(st.sampled_from(["allow", "escalate", "block"])),
                                 policy_version="p1"))
        elif step == "commit":
            head += 1
            s.add(c.ChangeCommitted(task_id=task, attempt=attempts[task], commit=sha(head), parent=sha(head - 1), branch="b"))
        elif step == "tests":
            if draw(st.booleans()):
                s.add(c.TestsPassed(commit=sha(head), counts=c.TestCounts(passed=1), duration_s=0.1, sandbox="bwrap"))
            else:
                s.add(c.TestsFailed(commit=sha(head), counts=c.TestCounts(failed=1), duration_s=0.1, sandbox="bwrap"))
        elif step == "retry":
            retry += 1
            attempts[task] += 1
            s.add(c.RetryScheduled(retry=retry, due_at=s.events[-1].occurred_at, delay_s=1, timer_id=f"retry-{retry}"))
            s.add(c.FixRequested(retry=retry, task_id=task, attempt=attempts[task], timer_id=f"retry-{retry}"))
        elif step == "budget":
            s.add(c.BudgetCharged(tokens=draw(st.integers(0, 5000)), cost_usd=draw(st.floats(0, 2))))
        elif step == "escalate":
            escalations.append(f"e{len(escalations) + 1}")
            s.add(c.EscalationRequested(escalation_id=escalations[-1], kind="merge_review", reason="check"))
        elif step == "decide" and escalations:
            s.add(c.HumanDecisionRecorded(escalation_id=draw(st.sampled_from(escalations)),
                                          decision=draw(st.sampled_from(["approve", "reject"])), decided_by="ana"))
        elif step == "approve":
            s.add(c.MergeApproved(approver="policy", reviewer="auto"))
        elif step == "merge":
            s.add(c.Merged(target_branch="main", merge_commit=sha(head), fast_forward=True))
        elif step == "llm":
            s.add(c.LLMCallRecorded(role="developer", provider="scripted", model="m", prompt="p", response="r",
                                    input_tokens=1, output_tokens=1, cost_usd=0, latency_ms=1))
    return s


@settings(max_examples=150, deadline=None)
@given(stream=run_streams(), cuts=st.lists(st.integers(0, 60), max_size=6))
def test_folding_all_at_once_equals_folding_in_chunks(stream, cuts):
    events = stream.events
    bounds = sorted({0, len(events), *(min(c, len(events)) for c in cuts)})
    state = RunState()
    for start, end in pairwise(bounds):
        state = fold(events[start:end], state)
    assert state == fold(events)


@settings(max_examples=100, deadline=None)
@given(stream=run_streams())
def test_decoding_then_folding_equals_folding_the_originals(stream):
    decoded = [decode_envelope(encode_envelope(e)) for e in stream.events]
    assert decoded == stream.events
    assert fold(decoded) == fold(stream.events)
    assert fold(decoded).to_dict() == fold(stream.events).to_dict()
