"""Which sandbox runs a repository's tests: the strongest the host offers whose probe shows it can
start the test command there, with what that sandbox needs prepared first (a test image for Docker
and gVisor, installed environments and toolchains for bubblewrap and the bare process).

A daemon that answers is not enough: an image without the test runner would stall every run at the
tests gate. So for each run the candidates are tried strongest first: prepared (an image build, an
install), then probed with a command that only starts the test program (`python -c 'import pytest'`,
`command -v go`); the first that passes runs the tests. A probe that passed is remembered for the
same preparation. When none passes, the weakest candidate runs the tests, whose output then says
what is missing (an `environment` escalation), as it would on a host with that sandbox alone.
"""

from __future__ import annotations

import logging
import re
import shlex
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .detect import TestCommand
from .prepare import SetupPlan
from .sandbox import Limits, Sandbox, SandboxError, SandboxStopped
from .sandboxes.images import ImageBuildError, TestImages, image_mounts
from .testenv import Prepared, SetupError

log = logging.getLogger("wave.qa")

Preparer = Callable[[SetupPlan | None, Path, Mapping[str, str], str], Prepared]
PROBE_TIMEOUT_S = 60.0
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Candidate:
    sandbox: Sandbox
    prepare: Preparer  # (plan, checkout, repository files, scope) -> Prepared; raises SetupError


def probe_command(command: TestCommand) -> tuple[str, ...]:
    """Pure: a command that succeeds only where `command`'s program can start: `python -m X` imports
    X; anything else looks the program up on PATH."""
    argv = command.argv
    if len(argv) == 3 and argv[0] == "/bin/sh" and argv[1] == "-c":
        try:
            words = [w for w in shlex.split(argv[2]) if not _ASSIGNMENT.match(w)]
        except ValueError:
            words = []
        argv = tuple(words) or ("true",)
    program = argv[0]
    if re.fullmatch(r"(.*/)?python[0-9.]*", program) and len(argv) > 2 and argv[1] == "-m":
        return (program, "-c", f"import {argv[2]}")
    return ("/bin/sh", "-c", f"command -v {shlex.quote(program)}")


def image_preparer(images: TestImages) -> Preparer:
    """Prepares a run in a test image: built (or reused) from the trusted plan, FROM the base image."""

    def prepare(plan: SetupPlan | None, checkout: Path, files: Mapping[str, str], scope: str) -> Prepared:
        try:
            tag, reused = images.ensure(plan, checkout)
        except ImageBuildError as exc:
            raise SetupError(str(exc)) from exc
        mounts, env = image_mounts(plan, tag)
        description = "" if plan is None else (
            f"{plan.describe()} ({plan.source}; {'reused' if reused else 'built'} image {tag})"
        )
        return Prepared(mounts, env, description)

    return prepare


def environment_preparer(prepare: Callable[..., Prepared]) -> Preparer:
    """Prepares a run on the host (TestEnvironments.prepare): installed environments, toolchains."""
    return lambda plan, checkout, files, scope: prepare(plan, checkout, files, scope=scope)


@dataclass(frozen=True)
class Chosen:
    sandbox: Sandbox
    prepared: Prepared
    passed_probe: bool


class SandboxChoice:
    def __init__(self, candidates: Sequence[Candidate], *, probe_timeout_s: float = PROBE_TIMEOUT_S) -> None:
        if not candidates:
            raise ValueError("at least one sandbox is needed")
        self.candidates = tuple(candidates)
        self._probe_timeout_s = probe_timeout_s
        self._passed: set[tuple[object, ...]] = set()
        self._lock = threading.Lock()

    @property
    def strongest(self) -> Sandbox:
        return self.candidates[0].sandbox

    def choose(
        self, command: TestCommand, plan: SetupPlan | None, checkout: Path, files: Mapping[str, str], *,
        scope: str, limits: Limits, env: Mapping[str, str], stop: threading.Event | None = None,
    ) -> Chosen:
        """The first candidate, strongest first, that prepares and passes the probe. Raises SetupError
        when no candidate could be prepared (the last one's error)."""
        if len(self.candidates) == 1:  # nothing to choose between: the run itself shows what is missing
            only = self.candidates[0]
            return Chosen(only.sandbox, only.prepare(plan, checkout, files, scope), passed_probe=False)
        probe = probe_command(command)
        fallback: Chosen | None = None
        error: SetupError | None = None
        for candidate in self.candidates:
            name = candidate.sandbox.name
            try:
                prepared = candidate.prepare(plan, checkout, files, scope)
            except SetupError as exc:
                log.info("qa: %s cannot be prepared for %s: %s", name, command.display, str(exc)[-500:])
                error = exc
                continue
            fallback = Chosen(candidate.sandbox, prepared, passed_probe=False)
            if self._probe(candidate.sandbox, probe, checkout, limits, {**env, **prepared.env}, prepared, stop):
                return Chosen(candidate.sandbox, prepared, passed_probe=True)
        if fallback is None:
            assert error is not None
            raise error
        log.info("qa: no sandbox passed the probe `%s`; testing in %s", shlex.join(probe), fallback.sandbox.name)
        return fallback

    def _probe(
        self, sandbox: Sandbox, probe: tuple[str, ...], checkout: Path, limits: Limits, env: Mapping[str, str],
        prepared: Prepared, stop: threading.Event | None,
    ) -> bool:
        key = (sandbox.name, probe, prepared.mounts, tuple(sorted(env.items())))
        with self._lock:
            if key in self._passed:
                return True
        probe_limits = Limits(timeout_s=min(limits.timeout_s, self._probe_timeout_s), memory_mb=limits.memory_mb,
                              cpu_s=limits.cpu_s, max_procs=limits.max_procs)
        try:
            result = sandbox.run(probe, checkout, probe_limits, env, stop=stop, mounts=prepared.mounts)
        except SandboxStopped:
            raise
        except SandboxError as exc:
            log.info("qa: %s cannot run the probe `%s`: %s", sandbox.name, shlex.join(probe), exc)
            return False
        passed = result.exit_code == 0 and not result.timed_out
        log.info("qa: probe `%s` in %s: %s", shlex.join(probe), sandbox.name,
                 "passed" if passed else f"exit {result.exit_code} {result.output.strip()[-300:]}")
        if passed:
            with self._lock:
                self._passed.add(key)
        return passed
