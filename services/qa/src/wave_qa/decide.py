"""What QA decides. Pure: no git, no sandbox, no files.

`decide(state, event) -> RunTests | None`: whether QA tests, and which commit. `state` is the run folded
up to (at least) the event. Tests run when gates G0..G4 pass — every task's current change is committed —
and the branch head has no result yet. A redelivered event, or one whose commit was already tested,
decides nothing.

Then what the tests said: `run_outcome` (the sandbox's result and the report read from the run ->
TestsPassed or TestsFailed), `untested` (the repository's QA settings are wrong: TestsFailed with the
reason). What no change to the code can fix is not a test failure and goes to no fixer: it is an
`environment` escalation (`wave_runtime.Unrecoverable`) saying what to configure —
`environment_problem` tells a missing program or dependency from failing tests, `test_environment_missing`
words it; `no_test_command`, `setup_failed` and `sandbox_unusable` are the others.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import PurePosixPath

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
    commit: str, *, command: str, sandbox: str, result: SandboxResult, report: TestReport, timeout_s: float,
    environment: str = "",
) -> ev.TestsPassed | ev.TestsFailed:
    """Passed only when the command exited 0 within its time and the report counts no failure and no
    error; otherwise failed, naming the failing tests with an excerpt a fixer can start from."""
    counts = report.counts
    duration_s = max(0.0, result.duration_s)
    passed = result.exit_code == 0 and not result.timed_out and counts.failed == 0 and counts.errors == 0
    if passed:
        return ev.TestsPassed(
            commit=commit, counts=counts, duration_s=duration_s, sandbox=sandbox, command=command,
            environment=environment,
        )
    excerpt = failure_excerpt(
        report, exit_code=result.exit_code, output=result.output, timed_out=result.timed_out, timeout_s=timeout_s
    )
    return ev.TestsFailed(
        commit=commit, counts=counts, failing_tests=failing_test_names(report), failure_excerpt=excerpt,
        duration_s=duration_s, sandbox=sandbox, command=command, timed_out=result.timed_out, environment=environment,
    )


def untested(commit: str, *, reason: str, sandbox: str) -> ev.TestsFailed:
    """The repository's own QA settings (in the commit under test) are wrong: the commit fails with the
    reason, so a fixer can correct them."""
    return ev.TestsFailed(commit=commit, counts=ev.TestCounts(), failure_excerpt=reason, duration_s=0.0, sandbox=sandbox)


def sandbox_unusable(sandbox: str, problem: str) -> Unrecoverable:
    """The sandbox cannot run at all: not a failing test, and trying again on this host will not help."""
    return Unrecoverable(
        f"the {sandbox} sandbox cannot run the tests: {problem}",
        f"make the {sandbox} sandbox work on the qa host, or choose another with "
        "WAVE_QA_SANDBOX (see services/qa/README.md)",
    )


_CONFIGURE = (
    "install the toolchain on the qa host's PATH, or set WAVE_QA_SETUP (e.g. python) for the qa service, "
    "then approve to test again; or add `setup` to .wave/qa.toml on the target branch, which runs started "
    "after it use (see services/qa/README.md)"
)
_PY_MISSING = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")
_SHARED_LIBRARY_MISSING = re.compile(r"ImportError: (lib[\w.+-]+\.so[\w.]*): cannot open shared object file")
_NODE_MISSING = re.compile(r"Cannot find (?:module|package) '([^']+)'")
_GO_MISSING = re.compile(
    r"no required module provides package (\S+?);|cannot find package \"?([^\s\"]+)|"
    r"module lookup disabled by GOPROXY=off|missing go\.sum entry"
)
_NOT_STARTED = re.compile(r"setpriv: failed to execute ([^\s:]+)|(\S+): (?:command )?not found|"
                          r"exec: \"?(\S+?)\"?: executable file not found")


def environment_problem(
    result: SandboxResult, report: TestReport, known_files: Collection[str], go_module: str | None = None
) -> str | None:
    """Why a run that failed says nothing about the code, or None when it is an ordinary result: a
    program that could not start (exit 127), or a dependency of the project that is not installed — a
    Python module, a Node package or a Go module that is not part of the repository, while no test ran.
    `known_files`: the repository's paths; `go_module`: the module path its go.mod declares."""
    if result.exit_code == 0 or result.timed_out:
        return None
    output = result.output
    if result.exit_code == 127:
        started = _NOT_STARTED.search(output)
        program = next((g for g in started.groups() if g), "") if started else ""
        return f"a program the test command needs is not in the sandbox ({program or 'exit 127'})"
    if report.counts.passed > 0:
        return None  # some tests ran: whatever is missing is missing for the code, a fixer's matter
    for match in _PY_MISSING.finditer(output):
        top = match.group(1).split(".")[0]
        if not _is_repo_python_module(top, known_files):
            return f"the Python module {top!r} is not installed (ModuleNotFoundError while collecting the tests)"
    library = _SHARED_LIBRARY_MISSING.search(output)
    if library:
        return f"the shared library {library.group(1)} is not installed on the qa host"
    for match in _NODE_MISSING.finditer(output):
        name = match.group(1)
        if not name.startswith((".", "/", "node:")):
            return f"the Node package {_package_name(name)!r} is not installed (Cannot find module)"
    for match in _GO_MISSING.finditer(output):
        package = next((g for g in match.groups() if g), None)
        if package and go_module and (package == go_module or package.startswith(go_module + "/")):
            continue  # a package of the module itself: the code is wrong, not the environment
        return f"a Go module the tests need is not available offline ({match.group(0).rstrip(';')})"
    return None


def _is_repo_python_module(name: str, known_files: Collection[str]) -> bool:
    for path in known_files:
        parts = PurePosixPath(path).parts
        for i, part in enumerate(parts[:-1]):
            if part == name and i <= 1:
                return True
        if parts[-1] == f"{name}.py" and len(parts) <= 2:
            return True
    return False


def _package_name(specifier: str) -> str:
    parts = specifier.split("/")
    return "/".join(parts[:2]) if specifier.startswith("@") else parts[0]


def test_environment_missing(problem: str, *, proposal: str = "") -> Unrecoverable:
    """The tests could not run for want of something outside the repository: no fixer can help."""
    return Unrecoverable(
        f"the tests cannot run in the sandbox: {problem}" + (f" ({proposal})" if proposal else ""), _CONFIGURE
    )


def unsafe_test_command(
    command: str, verdict: str, score: float, rules: str, policy_version: str, recorded: ev.ActionScored | None = None
) -> Unrecoverable:
    """The safety scorer did not allow the test command QA was about to run: nothing ran. `recorded`,
    the verdict as an event, is kept in the history with the escalation."""
    return Unrecoverable(
        f"safety scored the test command `{command}` {verdict} (score {score:.2f}; {rules}; policy {policy_version}); "
        "it was not run",
        "change the test command (WAVE_QA_TEST_COMMAND, or `command` in .wave/qa.toml on the target branch), "
        "then approve to test again",
        (recorded,) if recorded is not None else (),
    )


def no_test_command(reason: str) -> Unrecoverable:
    return Unrecoverable(reason, "say how to test the repository, then approve to test again")


def setup_failed(problem: str, source: str) -> Unrecoverable:
    """Installing the dependencies failed (a registry that does not answer, a package with no wheel)."""
    return Unrecoverable(
        f"preparing the test environment ({source}) failed: {problem}",
        "fix the dependency or WAVE_QA_SETUP, or make the package registry reachable, then approve to try "
        "again; a run reads .wave/qa.toml at its base commit, so a fix there is for runs started after it",
    )
