"""Realistic WAVE events for the store benchmarks, and the same bytes in the peer's StoredEvent form.

Payloads are what a run really writes: proposed diffs with their safety scores (about 300-500 bytes
of JSON each), and for a whole run the mix a developer/safety/test loop produces.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from wave_events import DomainEvent, Envelope, encode_payload, new_envelope
from wave_events import catalogue as c

PRODUCER = "bench"
_TASKS = tuple(f"t{n}" for n in range(1, 9))

_DIFF = (
    "--- a/src/pricing/tax.py\n"
    "+++ b/src/pricing/tax.py\n"
    "@@ -12,7 +12,9 @@ def price_with_tax(item, region):\n"
    "-    return item.price\n"
    "+    rate = RATES.get(region, DEFAULT_RATE)\n"
    "+    return round(item.price * (1 + rate), 2)\n"
)


def sha(n: int) -> str:
    return f"{n:040x}"


def change_proposed(n: int, attempt: int = 1) -> c.ChangeProposed:
    return c.ChangeProposed(
        task_id=_TASKS[n % len(_TASKS)],
        attempt=attempt,
        diff=_DIFF,
        base_commit=sha(n + 1),
        rationale="apply the regional tax rate",
        model="claude-sonnet-4-5",
    )


def action_scored(target: uuid.UUID, n: int, attempt: int = 1) -> c.ActionScored:
    return c.ActionScored(
        target_event_id=target,
        action_kind="diff",
        task_id=_TASKS[n % len(_TASKS)],
        attempt=attempt,
        score=0.92,
        verdict="allow",
        violations=(
            c.Violation(principle="least-privilege", rule="no-network-in-tests", detail="none found"),
        ),
        risks=("touches pricing rounding", "changes a public function"),
        policy_version="policy-2025-11",
    )


def batch(stream_id: str, size: int) -> list[Envelope]:
    """`size` events for one stream: proposals, each followed by its safety score."""
    envelopes: list[Envelope] = []
    for n in range(size):
        if n % 2 == 0:
            payload: DomainEvent = change_proposed(n)
        else:
            payload = action_scored(envelopes[-1].event_id, n - 1)
        envelopes.append(new_envelope(stream_id, payload, producer=PRODUCER))
    return envelopes


def run(stream_id: str, size: int) -> list[Envelope]:
    """One long run of exactly `size` events: a request, a plan of 8 tasks, a workspace, then
    rounds of model calls, proposals, scores, commits, tests and retries."""
    if size < 3:
        raise ValueError(f"a run needs at least 3 events, got {size}")
    start = datetime(2025, 11, 1, tzinfo=UTC)
    envelopes: list[Envelope] = []

    def add(payload: DomainEvent) -> Envelope:
        envelope = new_envelope(
            stream_id, payload, producer=PRODUCER, occurred_at=start + timedelta(seconds=len(envelopes))
        )
        envelopes.append(envelope)
        return envelope

    add(
        c.RunRequested(
            story="make prices include tax",
            repo="git@example.com:shop.git",
            budget_usd=10_000.0,
            budget_tokens=10**12,
            max_retries=20,
        )
    )
    add(
        c.PlanCreated(
            tasks=tuple(
                c.PlanTask(
                    task_id=t,
                    domain="backend",
                    description=f"tax rules, part {t}",
                    acceptance_criteria=("tests pass",),
                )
                for t in _TASKS
            ),
            summary="apply regional tax",
            model="claude-sonnet-4-5",
        )
    )
    add(c.WorkspaceReady(branch="wave/run", base_commit=sha(1), location="/srv/wave/workspaces/run"))
    attempt = {t: 1 for t in _TASKS}
    n = 0
    while len(envelopes) < size:
        n += 1
        task = _TASKS[n % len(_TASKS)]
        commit = sha(n + 10**6)
        add(
            c.LLMCallRecorded(
                role="developer",
                provider="anthropic",
                model="claude-sonnet-4-5",
                prompt="implement the task",
                response="diff attached",
                input_tokens=1800,
                output_tokens=420,
                cost_usd=0.0117,
                latency_ms=2300.0,
            )
        )
        add(c.BudgetCharged(tokens=2220, cost_usd=0.0117))
        proposal = add(change_proposed(_TASKS.index(task), attempt[task]))
        add(action_scored(proposal.event_id, _TASKS.index(task), attempt[task]))
        add(
            c.ChangeCommitted(
                task_id=task, attempt=attempt[task], commit=commit, parent=sha(n), branch="wave/run"
            )
        )
        if n % 3:
            add(
                c.TestsPassed(
                    commit=commit,
                    counts=c.TestCounts(passed=212),
                    duration_s=14.2,
                    sandbox="bwrap",
                    command="pytest -q",
                )
            )
            continue
        add(
            c.TestsFailed(
                commit=commit,
                counts=c.TestCounts(passed=210, failed=2),
                duration_s=15.1,
                sandbox="bwrap",
                command="pytest -q",
                failure_excerpt="AssertionError: 10.7 != 10.71",
            )
        )
        timer = f"retry-{n}"
        add(c.RetryScheduled(retry=n, due_at=start + timedelta(days=1), delay_s=30.0, timer_id=timer))
        attempt[task] += 1
        add(
            c.FixRequested(
                retry=n,
                task_id=task,
                attempt=attempt[task],
                failure_excerpt="rounding",
                failing_commit=commit,
                timer_id=timer,
            )
        )
    # A round writes several events; the run stops where the log would have been read.
    return envelopes[:size]


def stored_bytes(envelope: Envelope) -> bytes:
    """The payload exactly as WAVE stores it, for the peer to store the same bytes."""
    return encode_payload(envelope.payload).encode()


def topic(envelope: Envelope) -> str:
    return f"wave_events.catalogue:{envelope.type}"
