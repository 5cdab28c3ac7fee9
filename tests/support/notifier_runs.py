"""Run streams for notifier tests: each added event comes back with the run state folded up to and
including it, which is what the runtime hands a service."""

from __future__ import annotations

from run_streams import RunStream, Step, sha
from wave_events import catalogue as c


def requested(run_id: str = "r1", story: str = "add a /health endpoint") -> RunStream:
    stream = RunStream(run_id)
    stream.add(c.RunRequested(story=story, repo="/srv/app", budget_usd=2.0, requested_by="ana"))
    return stream


def plan(stream: RunStream, tasks: int = 1) -> Step:
    return stream.add(
        c.PlanCreated(
            tasks=tuple(
                c.PlanTask(
                    task_id=f"t{i}", domain="backend", description=f"task {i}", acceptance_criteria=("works",)
                )
                for i in range(1, tasks + 1)
            )
        )
    )


def propose(stream: RunStream, task: str, attempt: int = 1) -> Step:
    return stream.add(
        c.ChangeProposed(task_id=task, attempt=attempt, diff="--- a\n+++ b\n", base_commit=sha(1))
    )


def score(stream: RunStream, proposal: Step, verdict: str, value: float, *rules: str) -> Step:
    p = proposal.event.payload
    return stream.add(
        c.ActionScored(
            target_event_id=proposal.event.event_id,
            action_kind="diff",
            task_id=p.task_id,
            attempt=p.attempt,
            score=value,
            verdict=verdict,
            policy_version="policy-3",
            violations=tuple(
                c.Violation(principle="never expose secrets", rule=r, detail="in config.py") for r in rules
            ),
        )
    )
