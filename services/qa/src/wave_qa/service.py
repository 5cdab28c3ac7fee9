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
import uuid
from collections.abc import Sequence
from pathlib import Path

from wave_constitution import SafetyPolicy, ShellCommand, score
from wave_constitution.recording import action_scored
from wave_events import Envelope
from wave_events import catalogue as ev
from wave_events.projections import RunState
from wave_runtime import Output, TransientError
from wave_runtime.memo import EffectResults
from wave_runtime.metrics import SANDBOX_SECONDS

from .checkout import Checkout, CheckoutError, file_at
from .choice import Candidate, Chosen, SandboxChoice, environment_preparer
from .decide import (
    HANDLED_EVENT_TYPES,
    RunTests,
    decide,
    environment_problem,
    no_test_command,
    run_outcome,
    sandbox_unusable,
    setup_failed,
    test_environment_missing,
    unsafe_test_command,
    untested,
)
from .detect import (
    REPO_CONFIG,
    RepoConfigError,
    TestCommand,
    go_module_path,
    read_repo_files,
    resolve_test_command,
)
from .prepare import SetupConfig, SetupConfigError, SetupPlan, plan_setup, proposal, read_setup_config
from .reports import read_report
from .sandbox import Limits, Sandbox, SandboxError
from .testenv import SetupError, TestEnvironments

log = logging.getLogger("wave.qa")

REPORT_DIR = ".wave-qa"  # inside the checkout: the sandbox's only writable place
JUNIT_REPORT = f"{REPORT_DIR}/junit.xml"  # relative to the checkout, where the tests run
_MAX_REPORT_BYTES = 20 * 1024 * 1024
SANDBOX_ENV = {"CI": "true", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
_NO_COMMAND = (
    "no test command: set WAVE_QA_TEST_COMMAND, add `command = \"...\"` to .wave/qa.toml on the target branch, "
    "or add tests QA recognises (pytest, an npm test script, go.mod, a Makefile `test:` target)"
)


class QAService:
    name = "qa"
    handles: frozenset[str] = HANDLED_EVENT_TYPES

    def __init__(
        self,
        sandbox: Sandbox | SandboxChoice,
        checkout: Checkout,
        *,
        scratch_root: str | Path,
        limits: Limits | None = None,
        test_command: str | None = None,
        setup: SetupConfig | None = None,
        environments: TestEnvironments | None = None,
        safety_policy: SafetyPolicy | None = None,
    ) -> None:
        """`sandbox`: one sandbox, or the candidates QA chooses from for each run (choice.py);
        `setup`: the operator's setup (WAVE_QA_SETUP), which overrides the target branch's
        .wave/qa.toml; `environments`: where prepared environments and caches live (default: beside
        the scratch checkouts)."""
        self._checkout = checkout
        self._scratch_root = Path(scratch_root)
        self._limits = limits or Limits()
        self._test_command = test_command
        self._setup = setup
        self._environments = environments or TestEnvironments(self._scratch_root / "qa-env")
        self.sandboxes = sandbox if isinstance(sandbox, SandboxChoice) else SandboxChoice(
            [Candidate(sandbox, environment_preparer(self._environments.prepare))]
        )
        self.sandbox = self.sandboxes.strongest
        self._safety_policy = safety_policy or SafetyPolicy()
        # Outcomes by (cause event, commit). The runtime decides again after a concurrency conflict —
        # the notifier's NotificationSent for the same ChangeCommitted usually lands while the tests
        # run — and the suite already run for that decision is not run a second time.
        self._outcomes: EffectResults[tuple[str, str], tuple[Output, ...]] = EffectResults()

    async def handle(self, state: RunState, event: Envelope) -> Sequence[Output]:
        decision = decide(state, event)
        if decision is None:
            return ()
        run_id = state.run_id or event.run_id
        key = (str(event.event_id), decision.commit)
        trusted = (state.base_commit, state.target_branch)
        return await self._outcomes.once(key, lambda: self._test_until_stopped(run_id, decision, trusted, event.event_id))

    async def _test_until_stopped(
        self, run_id: str, decision: RunTests, trusted: tuple[str | None, str], cause: uuid.UUID
    ) -> tuple[Output, ...]:
        """The test run in a thread; cancelled (Ctrl-C, a shutdown), its sandbox is taken down at once
        and nothing is recorded, so the tests run again when the run is resumed."""
        stop = threading.Event()
        try:
            return await asyncio.to_thread(self._test, run_id, decision, stop, trusted, cause)
        except asyncio.CancelledError:
            stop.set()
            raise

    def _test(
        self, run_id: str, decision: RunTests, stop: threading.Event | None = None,
        trusted: tuple[str | None, str] = (None, "main"), cause: uuid.UUID | None = None,
    ) -> tuple[Output, ...]:
        """`trusted`: the run's base commit and target branch, whose .wave/qa.toml says what to set up;
        `cause`: the event asking for the tests, which the test command's verdict names. The verdict
        comes first among the outputs: it was given before anything ran."""
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
            trusted_config = self._trusted_config(repo, *trusted)
            try:
                command = resolve_test_command(
                    files, junit_path=JUNIT_REPORT, configured=self._test_command, trusted_config=trusted_config
                )
            except RepoConfigError as exc:
                return (untested(decision.commit, reason=str(exc), sandbox=self.sandbox.name),)
            if command is None:
                raise no_test_command(_NO_COMMAND)
            verdict = self._refuse_unless_safe(command.display, cause or uuid.uuid4())
            setup = self._setup_config(trusted_config, *trusted)
            plan = plan_setup(files, setup)
            proposed = None if setup.configured else plan_setup(files, setup, propose=True)
            chosen = self._choose(command, plan, repo, files, decision.location, stop)
            sandbox, prepared = chosen.sandbox, chosen.prepared
            environment = prepared.description or proposal(proposed)
            log.info("run %s: testing %s with %s in %s", run_id, decision.commit[:12], command.display, sandbox.name)
            try:
                result = sandbox.run(
                    command.argv, repo, self._limits, {**SANDBOX_ENV, **prepared.env}, stop=stop, mounts=prepared.mounts
                )
            except SandboxError as exc:
                raise sandbox_unusable(sandbox.name, str(exc)) from exc
            SANDBOX_SECONDS.labels(sandbox.name, "timed_out" if result.timed_out else "exited").observe(result.duration_s)
            junit_text = _read_report(junit) if command.junit_path is not None else None
            report = read_report(junit_text, exit_code=result.exit_code, output=result.output, known_files=files)
            problem = environment_problem(result, report, files, go_module_path(files.get("go.mod")))
            if problem is not None:
                log.info("run %s: the tests of %s could not run: %s", run_id, decision.commit[:12], problem)
                raise test_environment_missing(problem, proposal=environment)
            outcome = run_outcome(
                decision.commit, command=command.display, sandbox=sandbox.name, result=result, report=report,
                timeout_s=self._limits.timeout_s, environment=environment,
            )
            log.info(
                "tests %s on %s: %s%s", "passed" if isinstance(outcome, ev.TestsPassed) else "failed",
                decision.commit[:12], outcome.counts, " (timed out)" if result.timed_out else "",
            )
            return (verdict, outcome)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _refuse_unless_safe(self, command: str, cause: uuid.UUID) -> ev.ActionScored:
        """Score the test command with the safety rules before it runs: trusted sources can still name
        something no test needs (a download piped into a shell, a recursive delete). The verdict is
        recorded either way; a refused command is QA's own question (an `environment` escalation:
        change the command, then approve), so the planner does not ask about it again."""
        action = ShellCommand(command)
        verdict = score(action, self._safety_policy)
        recorded = action_scored(cause, "test_command", action, verdict)
        if verdict.verdict != "allow":
            rules = ", ".join(v.rule for v in verdict.violations) or "no rule named"
            raise unsafe_test_command(command, verdict.verdict, verdict.score, rules, verdict.policy_version, recorded)
        return recorded

    def _trusted_config(self, repo: Path, base_commit: str | None, target_branch: str) -> str | None:
        """The text of the target branch's .wave/qa.toml at the run's base commit — never the commit
        under test's: what runs the tests and what gets installed is not the change's to choose."""
        if base_commit is None:
            return None
        try:
            return file_at(repo, base_commit, REPO_CONFIG)
        except CheckoutError as exc:
            raise setup_failed(str(exc), f"{REPO_CONFIG} on {target_branch} at {base_commit[:12]}") from exc

    def _setup_config(self, trusted_config: str | None, base_commit: str | None, target_branch: str) -> SetupConfig:
        """The operator's setup, else the trusted .wave/qa.toml's."""
        if self._setup is not None:
            return self._setup
        if base_commit is None:
            return SetupConfig()
        source = f"{REPO_CONFIG} on {target_branch} at {base_commit[:12]}"
        try:
            return read_setup_config(trusted_config, source=source)
        except SetupConfigError as exc:
            raise setup_failed(str(exc), source) from exc

    def _choose(
        self, command: TestCommand, plan: SetupPlan | None, repo: Path, files: dict[str, str], scope: str,
        stop: threading.Event | None,
    ) -> Chosen:
        """The sandbox that runs these tests, with what it needs prepared (choice.py)."""
        try:
            return self.sandboxes.choose(command, plan, repo, files, scope=scope, limits=self._limits,
                                         env=SANDBOX_ENV, stop=stop)
        except SetupError as exc:
            raise setup_failed(str(exc), plan.source if plan else "the build caches") from exc


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
