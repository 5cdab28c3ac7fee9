"""What QA decides. Pure: no git, no sandbox, no files.

`decide(state, event) -> RunTests | None`: whether QA tests, and which commit. `state` is the run folded
up to (at least) the event. Tests run when gates G0..G4 pass — every task's current change is committed —
and the branch head has no result yet. A redelivered event, or one whose commit was already tested,
decides nothing.

Then what the tests said: `run_outcome` (the sandbox's result and the report read from the run ->
TestsPassed or TestsFailed), `untested` (no command to run: TestsFailed with the reason) and
`sandbox_unusable` (the sandbox itself cannot run: an environment escalation, not a test failure).
"""

from __future__ import annotations

from dataclasses import dataclass

from wave_events import Envelope
from wave_events import catalogue as ev
from wave_events.projections import RunState, gates_of
from wave_runtime import Unrecoverable

from .reports import TestReport, failing_test_names, failure_excerpt
from .sandbox import SandboxResult

HANDLED_EVENT_TYPES: frozenset[str] = frozenset({"ChangeCommitted"})
_NEEDED_GATES = ("G0 planned", "G1 workspace", "G2 implemented", "G3 safe", "G4 committed")


@dataclass(frozen=True)
class RunTests:
    commit: str
    location: str  # where the run branch lives: a local path or a URL


def decide(state: RunState, event: Envelope) -> RunTests | None:
    if event.type not in HANDLED_EVENT_TYPES or state.finished:
        return None
    gates = gates_of(state)
    if not all(gates[g] for g in _NEEDED_GATES):
        return None
    head = state.head_commit
    if head is None or state.workspace_location is None:
        return None
    if head in (state.tested_commit, state.last_test_failed_commit):
        return None
    return RunTests(commit=head, location=state.workspace_location)


def run_outcome(
    commit: str, *, command: str, sandbox: str, result: SandboxResult, report: TestReport, timeout_s: float
) -> ev.TestsPassed | ev.TestsFailed:
    """Passed only when the command exited 0 within its time and the report counts no failure and no
    error; otherwise failed, naming the failing tests with an excerpt a fixer can start from."""
    counts = report.counts
    duration_s = max(0.0, result.duration_s)
    passed = result.exit_code == 0 and not result.timed_out and counts.failed == 0 and counts.errors == 0
    if passed:
        return ev.TestsPassed(commit=commit, counts=counts, duration_s=duration_s, sandbox=sandbox, command=command)
    excerpt = failure_excerpt(
        report, exit_code=result.exit_code, output=result.output, timed_out=result.timed_out, timeout_s=timeout_s
    )
    return ev.TestsFailed(
        commit=commit, counts=counts, failing_tests=failing_test_names(report), failure_excerpt=excerpt,
        duration_s=duration_s, sandbox=sandbox, command=command, timed_out=result.timed_out,
    )


def untested(commit: str, *, reason: str, sandbox: str) -> ev.TestsFailed:
    """No test command (none configured or recognised, or the repository's QA settings are wrong): the
    commit fails with the reason, so a person or a fixer can add one."""
    return ev.TestsFailed(commit=commit, counts=ev.TestCounts(), failure_excerpt=reason, duration_s=0.0, sandbox=sandbox)


def sandbox_unusable(sandbox: str, problem: str) -> Unrecoverable:
    """The sandbox cannot run at all: not a failing test, and trying again on this host will not help."""
    return Unrecoverable(
        f"the {sandbox} sandbox cannot run the tests: {problem}",
        f"make the {sandbox} sandbox work on the qa host, or choose another with "
        "WAVE_QA_SANDBOX (see services/qa/README.md)",
    )
