"""The QA service: check out the run's head into a scratch directory, run its tests in the sandbox,
say TestsPassed or TestsFailed."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Collection, Sequence
from pathlib import Path

from wave_events import Envelope
from wave_events import catalogue as ev
from wave_events.projections import RunState
from wave_runtime import Output, TransientError, Unrecoverable
from wave_runtime.memo import EffectResults

from .checkout import Checkout, CheckoutError
from .decide import HANDLED_EVENT_TYPES, RunTests, decide
from .detect import RepoConfigError, TestCommand, read_repo_files, resolve_test_command
from .reports import ReportError, TestReport, failing_test_names, failure_excerpt, parse_junit, parse_output
from .sandbox import Limits, Sandbox, SandboxError, SandboxResult

log = logging.getLogger("wave.qa")

REPORT_DIR = ".wave-qa"  # inside the checkout: the sandbox's only writable place
JUNIT_REPORT = f"{REPORT_DIR}/junit.xml"  # relative to the checkout, where the tests run
_MAX_REPORT_BYTES = 20 * 1024 * 1024
SANDBOX_ENV = {"CI": "true", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
_NO_COMMAND = (
    "no test command: set WAVE_QA_TEST_COMMAND, add `command = \"...\"` to .wave/qa.toml in the repository, "
    "or add tests QA recognises (pytest, an npm test script, go.mod, a Makefile `test:` target)"
)


class QAService:
    name = "qa"
    handles: frozenset[str] = HANDLED_EVENT_TYPES

    def __init__(
        self,
        sandbox: Sandbox,
        checkout: Checkout,
        *,
        scratch_root: str | Path,
        limits: Limits | None = None,
        test_command: str | None = None,
    ) -> None:
        self.sandbox = sandbox
        self._checkout = checkout
        self._scratch_root = Path(scratch_root)
        self._limits = limits or Limits()
        self._test_command = test_command
        # Outcomes by (cause event, commit). The runtime decides again after a concurrency conflict —
        # the notifier's NotificationSent for the same ChangeCommitted usually lands while the tests
        # run — and the suite already run for that decision is not run a second time.
        self._outcomes: EffectResults[tuple[str, str], Output] = EffectResults()

    async def handle(self, state: RunState, event: Envelope) -> Sequence[Output]:
        decision = decide(state, event)
        if decision is None:
            return ()
        run_id = state.run_id or event.run_id
        key = (str(event.event_id), decision.commit)
        return (await self._outcomes.once(key, lambda: self._test_until_stopped(run_id, decision)),)

    async def _test_until_stopped(self, run_id: str, decision: RunTests) -> Output:
        """The test run in a thread; cancelled (Ctrl-C, a shutdown), its sandbox is taken down at once
        and nothing is recorded, so the tests run again when the run is resumed."""
        stop = threading.Event()
        try:
            return await asyncio.to_thread(self._test, run_id, decision, stop)
        except asyncio.CancelledError:
            stop.set()
            raise

    def _test(self, run_id: str, decision: RunTests, stop: threading.Event | None = None) -> Output:
        self._scratch_root.mkdir(parents=True, exist_ok=True, mode=0o700)
        scratch = Path(tempfile.mkdtemp(prefix=f"{run_id}-{decision.commit[:12]}-", dir=self._scratch_root))
        try:
            repo = scratch / "repo"
            try:
                self._checkout(decision.location, decision.commit, repo)
            except CheckoutError as exc:
                raise TransientError(f"run {run_id}: cannot check out {decision.commit[:12]}: {exc}") from exc
            # Whatever the repository holds under that name (a file, a link to a directory of the host)
            # goes: the report directory QA reads from is one it made itself, empty.
            _remove(repo / REPORT_DIR)
            (repo / REPORT_DIR).mkdir()
            junit = repo / JUNIT_REPORT
            files = read_repo_files(repo)
            try:
                command = resolve_test_command(files, junit_path=JUNIT_REPORT, configured=self._test_command)
            except RepoConfigError as exc:
                return self._not_run(decision.commit, str(exc))
            if command is None:
                return self._not_run(decision.commit, _NO_COMMAND)
            log.info("run %s: testing %s with %s in %s", run_id, decision.commit[:12], command.display, self.sandbox.name)
            try:
                result = self.sandbox.run(command.argv, repo, self._limits, SANDBOX_ENV, stop=stop)
            except SandboxError as exc:
                # The sandbox cannot run at all (not a failing test): trying again on this host will not help.
                raise Unrecoverable(
                    f"the {self.sandbox.name} sandbox cannot run the tests: {exc}",
                    f"make the {self.sandbox.name} sandbox work on the qa host, or choose another with "
                    "WAVE_QA_SANDBOX (see services/qa/README.md)",
                ) from exc
            return self._outcome(decision.commit, command, result, junit, files)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _outcome(
        self, commit: str, command: TestCommand, result: SandboxResult, junit: Path, files: Collection[str]
    ) -> Output:
        output = f"{result.stdout}\n{result.stderr}" if result.stderr else result.stdout
        report = _report(command, result, output, junit, files)
        counts = report.counts
        passed = result.exit_code == 0 and not result.timed_out and counts.failed == 0 and counts.errors == 0
        common = dict(
            commit=commit, counts=counts, duration_s=max(0.0, result.duration_s), sandbox=self.sandbox.name,
            command=command.display,
        )
        if passed:
            log.info("tests passed on %s: %s", commit[:12], counts)
            return ev.TestsPassed(**common)
        excerpt = failure_excerpt(
            report, exit_code=result.exit_code, output=output, timed_out=result.timed_out,
            timeout_s=self._limits.timeout_s,
        )
        log.info("tests failed on %s: %s%s", commit[:12], counts, " (timed out)" if result.timed_out else "")
        return ev.TestsFailed(
            **common, failing_tests=failing_test_names(report), failure_excerpt=excerpt, timed_out=result.timed_out
        )

    def _not_run(self, commit: str, reason: str) -> Output:
        return ev.TestsFailed(
            commit=commit, counts=ev.TestCounts(), failure_excerpt=reason, duration_s=0.0, sandbox=self.sandbox.name
        )


def _report(
    command: TestCommand, result: SandboxResult, output: str, junit: Path, files: Collection[str]
) -> TestReport:
    text = _read_report(junit) if command.junit_path is not None else None
    if text is not None:
        try:
            report = parse_junit(text, files)
        except ReportError:
            pass
        else:
            if sum(report.counts.model_dump().values()) or result.exit_code == 0:
                return report
    return parse_output(result.exit_code, output)


def _remove(path: Path) -> None:
    """Remove a file, a link (never what it points to) or a directory tree, if there is one."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _read_report(path: Path) -> str | None:
    """The report the tests wrote — never through a link they planted to a file of the host."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode) or path.parent.is_symlink():
            return None
        return f.read(_MAX_REPORT_BYTES).decode("utf-8", errors="replace")
