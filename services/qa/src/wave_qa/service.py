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
from collections.abc import Sequence
from pathlib import Path

from wave_events import Envelope
from wave_events import catalogue as ev
from wave_events.projections import RunState
from wave_runtime import Output, TransientError
from wave_runtime.memo import EffectResults
from wave_runtime.metrics import SANDBOX_SECONDS

from .checkout import Checkout, CheckoutError
from .decide import HANDLED_EVENT_TYPES, RunTests, decide, run_outcome, sandbox_unusable, untested
from .detect import RepoConfigError, read_repo_files, resolve_test_command
from .reports import read_report
from .sandbox import Limits, Sandbox, SandboxError

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
                return untested(decision.commit, reason=str(exc), sandbox=self.sandbox.name)
            if command is None:
                return untested(decision.commit, reason=_NO_COMMAND, sandbox=self.sandbox.name)
            log.info("run %s: testing %s with %s in %s", run_id, decision.commit[:12], command.display, self.sandbox.name)
            try:
                result = self.sandbox.run(command.argv, repo, self._limits, SANDBOX_ENV, stop=stop)
            except SandboxError as exc:
                raise sandbox_unusable(self.sandbox.name, str(exc)) from exc
            SANDBOX_SECONDS.labels(self.sandbox.name, "timed_out" if result.timed_out else "exited").observe(result.duration_s)
            junit_text = _read_report(junit) if command.junit_path is not None else None
            report = read_report(junit_text, exit_code=result.exit_code, output=result.output, known_files=files)
            outcome = run_outcome(
                decision.commit, command=command.display, sandbox=self.sandbox.name, result=result, report=report,
                timeout_s=self._limits.timeout_s,
            )
            log.info(
                "tests %s on %s: %s%s", "passed" if isinstance(outcome, ev.TestsPassed) else "failed",
                decision.commit[:12], outcome.counts, " (timed out)" if result.timed_out else "",
            )
            return outcome
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


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
