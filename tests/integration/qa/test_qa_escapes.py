"""A test suite that attacks its sandbox, run by QA in real bubblewrap. Each attack is written as a
test that passes only when the attack works; contained, it fails, and the user sees that in the
TestsFailed payload. Outside the sandbox, nothing the attack aimed at changed.

The fork bombs are bounded (few processes allowed, short wall clock) so a shared machine survives
even if containment broke: the exponential one only starts after a bounded probe proved the limit.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from qa_repos import escape_repo, processes_mentioning
from qa_runs import committed_run
from qa_sandbox_contract import Listener, sh
from wave_events import catalogue as c
from wave_qa import BubblewrapSandbox, GitCheckout, Limits, QAService, bubblewrap_works


@pytest.fixture(autouse=True, scope="module")
def _bubblewrap() -> None:
    if not bubblewrap_works():
        pytest.fail("bubblewrap cannot build a sandbox on this host: install Debian's bubblewrap (`make setup` does)")

MAX_PROCS = 64
ATTACKS = '''
import json, os, socket, time
from pathlib import Path

TARGETS = json.loads((Path(__file__).parent.parent / "targets.json").read_text())


def test_connects_to_the_hosts_loopback():
    socket.create_connection(("127.0.0.1", TARGETS["port"]), timeout=3).close()


def test_connects_to_the_internet():
    socket.create_connection(("1.1.1.1", 53), timeout=3).close()


def test_writes_into_the_original_worktree():
    Path(TARGETS["worktree_file"]).write_text("escaped")


def test_writes_into_root_home():
    Path(TARGETS["root_file"]).write_text("escaped")


def test_writes_into_etc():
    Path(TARGETS["etc_file"]).write_text("escaped")


def test_reads_the_api_key():
    env = dict(os.environ)  # shown in the failure: what the sandbox lets a test see
    assert env.get("WAVE_FAKE_API_KEY", "").startswith("sk-"), env


def test_reads_the_github_token():
    env = dict(os.environ)
    assert env.get("GITHUB_TOKEN", "").startswith("ghp_"), env


def test_forks_without_limit():
    children = []
    try:
        for _ in range(400):  # bounded: 400 sleeping children if containment failed
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            children.append(pid)
    except OSError as exc:
        raise AssertionError(f"fork stopped after {len(children)} children: {exc}") from exc


def test_may_write_its_own_copy():
    Path("scratch-output.txt").write_text("allowed")
    assert Path("scratch-output.txt").read_text() == "allowed"
'''


@pytest.fixture
def listener():
    listener = Listener()
    yield listener
    listener.close()


async def test_every_attack_is_contained_and_reported(
    tmp_path: Path, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_key, github_token = "sk-fake-" + uuid.uuid4().hex, "ghp_" + uuid.uuid4().hex
    monkeypatch.setenv("WAVE_FAKE_API_KEY", api_key)
    monkeypatch.setenv("GITHUB_TOKEN", github_token)
    marker = uuid.uuid4().hex
    worktree = tmp_path / "attacker"
    targets = {
        "port": listener.port,
        "worktree_file": str(worktree / "escaped.txt"),
        "root_file": f"/root/wave-qa-escape-{marker}",
        "etc_file": f"/etc/wave-qa-escape-{marker}",
    }
    outside = [Path(str(targets[k])) for k in ("worktree_file", "root_file", "etc_file")]
    repo, head = escape_repo(worktree, targets, ATTACKS)
    _, (committed,) = committed_run(str(worktree), head, {"t1": head})
    scratch_root = tmp_path / f"scratch-{marker}"
    limits = Limits(timeout_s=90, memory_mb=1024, cpu_s=60, max_procs=MAX_PROCS)
    service = QAService(BubblewrapSandbox(), GitCheckout(), scratch_root=scratch_root, limits=limits)

    try:
        # the sandbox's wall clock bounds the run; this bounds the test should that ever break
        (*_, outcome) = await asyncio.wait_for(service.handle(committed.state, committed.event), timeout=150)
    finally:
        escaped = [p for p in outside if p.exists()]
        for path in escaped:
            path.unlink()

    assert escaped == []
    assert listener.accepted == 0
    assert isinstance(outcome, c.TestsFailed)
    assert outcome.counts == c.TestCounts(passed=1, failed=8)
    assert not outcome.timed_out
    excerpt = outcome.failure_excerpt
    for attack in (
        "test_connects_to_the_hosts_loopback", "test_connects_to_the_internet", "test_writes_into_the_original_worktree",
        "test_writes_into_root_home", "test_writes_into_etc", "test_reads_the_api_key", "test_reads_the_github_token",
        "test_forks_without_limit",
    ):
        assert f"tests/test_escape.py::{attack}" in excerpt
    assert "fork stopped after" in excerpt
    assert api_key not in excerpt and github_token not in excerpt
    assert "'HOME': " in excerpt  # the environment the attack saw is in the report, without the secrets
    assert processes_mentioning(str(scratch_root)) == []  # the sleeping children died with the sandbox


def test_an_exponential_fork_bomb_is_contained_and_cut_off(tmp_path: Path) -> None:
    sandbox = BubblewrapSandbox()
    limits = Limits(timeout_s=5, memory_mb=256, cpu_s=10, max_procs=MAX_PROCS)
    probe = (
        "import os\nn = 0\ntry:\n    for n in range(200):\n        if os.fork() == 0:\n            import time; time.sleep(5)\n"
        "            os._exit(0)\nexcept OSError:\n    pass\nprint('forked', n)\n"
    )
    bounded = sandbox.run(["python", "-c", probe], tmp_path, limits, {})
    forked = int(bounded.stdout.split()[-1]) if bounded.stdout.startswith("forked") else None
    assert forked is not None and forked < MAX_PROCS, f"the process limit does not hold: {bounded}"

    marker = f"wave-qa-bomb-{uuid.uuid4().hex}"
    started = time.monotonic()
    result = sandbox.run(sh(f": {marker}; bomb() {{ bomb | bomb & }}; bomb; sleep 30"), tmp_path, limits, {})
    elapsed = time.monotonic() - started

    assert elapsed < 20
    assert result.timed_out or result.exit_code != 0
    time.sleep(0.5)
    assert processes_mentioning(marker) == []
