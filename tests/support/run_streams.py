"""A run's stream built event by event in memory, the state folded as the runtime would give it to a
handler at each step: the one builder of runs for the service and projection tests (not collected: no
test_ prefix)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import strategies as st
from wave_events import DomainEvent, Envelope, new_envelope
from wave_events import catalogue as c
from wave_events.projections import RunState, evolve


def sha(n: int) -> str:
    """A commit id that reads as its number: sha(2) == "000…02"."""
    return f"{n:040x}"


@dataclass(frozen=True)
class Step:
    state: RunState  # the run folded up to and including `event`
    event: Envelope


class RunStream:
    """`occurred_at` fixes every event's time (for decisions that depend on it); by default the real
    clock stamps them."""

    def __init__(self, run_id: str = "r1", *, occurred_at: datetime | None = None) -> None:
        self.run_id = run_id
        self.stream_id = f"run-{run_id}"
        self.occurred_at = occurred_at
        self.state = RunState()
        self.steps: list[Step] = []
        self.last: Step | None = None  # tests may point it back at an earlier step to re-decide it

    @property
    def events(self) -> list[Envelope]:
        """Every event added, in stream order: what the store would hold."""
        return [step.event for step in self.steps]

    def add(
        self, payload: DomainEvent, *, producer: str = "test", event_id: uuid.UUID | None = None,
        causation: Envelope | None = None,
    ) -> Step:
        """`producer` and `causation` say which service's handling of which event made it (as a replay reads them)."""
        n = self.state.version + 1
        envelope = new_envelope(
            self.stream_id, payload, producer=producer, causation=causation, event_id=event_id or uuid.uuid4(),
            occurred_at=self.occurred_at or datetime.now(UTC),
        ).positioned(n, n)
        self.state = evolve(self.state, envelope)
        self.last = Step(self.state, envelope)
        self.steps.append(self.last)
        return self.last

    def add_all(
        self, outputs: Iterable[object], *, producer: str = "test", causation: Envelope | None = None
    ) -> Step | None:
        """Append the domain events among a handler's outputs (timers are the runtime's business)."""
        for output in outputs:
            if isinstance(output, DomainEvent):
                self.add(output, producer=producer, causation=causation)
        return self.last


def plan(stream: RunStream, *task_ids: str) -> Step:
    """The run's plan: one backend task per id (default one, t1)."""
    return stream.add(
        c.PlanCreated(
            tasks=tuple(
                c.PlanTask(task_id=t, domain="backend", description=f"do {t}", acceptance_criteria=("tests pass",))
                for t in task_ids or ("t1",)
            )
        )
    )


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
