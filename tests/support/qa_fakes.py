"""A fake checkout and a fake sandbox for QAService tests (not collected: no test_ prefix)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from wave_qa import Checkout, CheckoutError, Limits, QAService, Sandbox, SandboxError, SandboxResult

JUNIT_TWO_PASSED = '<testsuite tests="2"><testcase name="a"/><testcase name="b"/></testsuite>'


class FakeCheckout(Checkout):
    """Writes `files` into the checkout directory; `fail` makes it raise as an unreachable remote would."""

    def __init__(self, files: Mapping[str, str] | None = None, fail: bool = False) -> None:
        self.files = files or {"pytest.ini": "", "tests/test_a.py": ""}
        self.fail = fail
        self.calls: list[tuple[str, str]] = []

    def __call__(self, location: str, commit: str, dest: Path) -> None:
        self.calls.append((location, commit))
        if self.fail:
            raise CheckoutError("remote hung up")
        for name, content in self.files.items():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            (dest / name).write_text(content)


class FakeSandbox(Sandbox):
    """Answers every run with `result`, after writing `junit` as the run's report when given; `error`
    makes it fail to start, as a sandbox that cannot mount would."""

    name = "fake"

    def __init__(self, result: SandboxResult, junit: str | None = None, error: bool = False) -> None:
        self.result, self.junit, self.error = result, junit, error
        self.runs: list[Sequence[str]] = []

    def run(self, command: Sequence[str], workdir: Path, limits: Limits, env: Mapping[str, str], *, stop=None,
            mounts=None) -> SandboxResult:
        self.runs.append(command)
        if self.error:
            raise SandboxError("bwrap: cannot mount")
        if self.junit is not None:
            (workdir / ".wave-qa" / "junit.xml").write_text(self.junit)
        return self.result


def result(exit_code: int = 0, stdout: str = "", timed_out: bool = False) -> SandboxResult:
    return SandboxResult(exit_code=exit_code, stdout=stdout, stderr="", timed_out=timed_out, duration_s=1.5)


def service(sandbox: FakeSandbox, checkout: FakeCheckout, scratch: Path) -> QAService:
    return QAService(sandbox, checkout, scratch_root=scratch, limits=Limits(timeout_s=30))
