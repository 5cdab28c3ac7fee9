"""The Sandbox contract on the adapters this host can run: bubblewrap and the bare process.
(The Docker adapters need a daemon; their command is unit-tested.)"""

from __future__ import annotations

import pytest
from qa_sandbox_contract import IsolationContract, SandboxContract
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
