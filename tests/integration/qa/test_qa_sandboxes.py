"""The Sandbox contract on the adapters this host can run: bubblewrap and the bare process.
(The Docker adapters need a daemon; their command is unit-tested.)"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from qa_sandbox_contract import QUICK, IsolationContract, SandboxContract
from wave_qa import BubblewrapSandbox, ProcessSandbox, bubblewrap_works


@pytest.fixture(scope="module")
def bubblewrap() -> None:
    if not bubblewrap_works():
        pytest.fail("bubblewrap cannot build a sandbox on this host: install Debian's bubblewrap (`make setup` does)")


class TestBubblewrapSandbox(SandboxContract, IsolationContract):
    @pytest.fixture
    def sandbox(self, bubblewrap: None) -> BubblewrapSandbox:
        return BubblewrapSandbox()


class TestProcessSandbox(SandboxContract):
    """The bare process isolates neither files nor network: only the common contract applies."""

    @pytest.fixture
    def sandbox(self) -> ProcessSandbox:
        return ProcessSandbox()


def test_bubblewrap_reads_a_tool_directory_under_tmp_after_other_read_only_paths(bubblewrap: None, tmp_path: Path) -> None:
    """A virtualenv made in /tmp is found even when other read-only paths are bound before it."""
    elsewhere = Path(tempfile.mkdtemp(dir=Path.home()))
    tools = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        script = tools / "greet"
        script.write_text("#!/bin/sh\necho hello from /tmp\n")
        script.chmod(0o755)
        for directory in (elsewhere, tools):
            directory.chmod(0o755)
        sandbox = BubblewrapSandbox(ro_paths=[str(elsewhere), str(tools)], tool_dirs=[str(tools)])
        workdir = tmp_path / "work"
        workdir.mkdir()
        result = sandbox.run(["greet"], workdir, QUICK, {})
        assert result.exit_code == 0, result.stderr
        assert result.stdout.strip() == "hello from /tmp"
    finally:
        shutil.rmtree(elsewhere)
        shutil.rmtree(tools)
