"""A test suite that attacks its sandbox, run by QA in real bubblewrap, real Docker (runc) and real
gVisor (runsc). Each attack is written as a test that passes only when the attack works; contained,
it fails, and the user sees that in the TestsFailed payload. Outside the sandbox, nothing the attack
aimed at changed. Each sandbox's figures (attacks tried, contained, time per test run) are printed
in the "sandbox escapes" section of the test summary.

The Docker and gVisor cases are marked `docker`: selected where `make test` runs its private daemon.

The fork bombs are bounded (few processes allowed, short wall clock) so a shared machine survives
even if containment broke: the exponential one only starts after a bounded probe proved the limit.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from qa_docker import docker_choice, docker_sandbox
from qa_repos import escape_repo, processes_mentioning
from qa_runs import committed_run
from qa_sandbox_contract import Listener, sh
from wave_events import catalogue as c
from wave_qa import BubblewrapSandbox, GitCheckout, Limits, QAService, Sandbox, bubblewrap_works
from wave_qa.choice import SandboxChoice

SANDBOXES = [
    "bubblewrap",
    pytest.param("docker", marks=pytest.mark.docker),
    pytest.param("gvisor", marks=pytest.mark.docker),
]


@pytest.fixture(params=SANDBOXES)
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "bubblewrap" and not bubblewrap_works():
        pytest.fail("bubblewrap cannot build a sandbox on this host: install Debian's bubblewrap (`make setup` does)")
    return request.param


def qa_sandboxes(kind: str, lock_dir: Path) -> Sandbox | SandboxChoice:
    """What QA's factory would use for that kind alone (Docker's: test images FROM the base image)."""
    return BubblewrapSandbox() if kind == "bubblewrap" else docker_choice(kind, lock_dir)


def sandbox_containers_left() -> list[str]:
    """QA's sandbox containers still on the daemon (each run removes its own)."""
    import docker

    return [c.name for c in docker.from_env(timeout=10).containers.list(all=True, filters={"label": "wave.qa"})]

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
    env = dict(sorted(os.environ.items()))  # shown in the failure: what the sandbox lets a test see
    assert env.get("WAVE_FAKE_API_KEY", "").startswith("sk-"), env


def test_reads_the_github_token():
    env = dict(sorted(os.environ.items()))
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


ATTACK_NAMES = (
    "test_connects_to_the_hosts_loopback", "test_connects_to_the_internet", "test_writes_into_the_original_worktree",
    "test_writes_into_root_home", "test_writes_into_etc", "test_reads_the_api_key", "test_reads_the_github_token",
    "test_forks_without_limit",
)


@pytest.mark.timeout(300)
async def test_every_attack_is_contained_and_reported(
    kind: str, tmp_path: Path, listener: Listener, monkeypatch: pytest.MonkeyPatch, summary
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
    service = QAService(qa_sandboxes(kind, tmp_path / "locks"), GitCheckout(), scratch_root=scratch_root, limits=limits)

    try:
        # the sandbox's wall clock bounds the run (a test image build comes before it, once per
        # base image); this bounds the test should that ever break
        (*_, outcome) = await asyncio.wait_for(service.handle(committed.state, committed.event), timeout=270)
    finally:
        escaped = [p for p in outside if p.exists()]
        for path in escaped:
            path.unlink()

    excerpt = getattr(outcome, "failure_excerpt", "")
    contained = [a for a in ATTACK_NAMES if f"tests/test_escape.py::{a}" in excerpt]
    summary("sandbox escapes", (
        f"{kind:<10} {len(ATTACK_NAMES)} attacks tried, {len(contained)} contained, {len(escaped)} files written "
        f"outside, {listener.accepted} loopback connections; test run {outcome.duration_s:.1f} s in {outcome.sandbox}"
    ))
    assert escaped == []
    assert listener.accepted == 0
    assert isinstance(outcome, c.TestsFailed)
    assert outcome.sandbox == kind
    assert outcome.counts == c.TestCounts(passed=1, failed=8), excerpt
    assert not outcome.timed_out
    assert contained == list(ATTACK_NAMES)
    assert "fork stopped after" in excerpt
    assert api_key not in excerpt and github_token not in excerpt
    assert "{'CI': 'true', 'HOME': " in excerpt, excerpt  # what the attack saw is reported, without the secrets
    assert processes_mentioning(str(scratch_root)) == []  # the sleeping children died with the sandbox
    if kind != "bubblewrap":
        assert sandbox_containers_left() == []


@pytest.mark.timeout(180)
def test_an_exponential_fork_bomb_is_contained_and_cut_off(kind: str, tmp_path: Path, summary) -> None:
    sandbox = BubblewrapSandbox() if kind == "bubblewrap" else docker_sandbox(kind)
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
    summary("sandbox escapes", (
        f"{kind:<10} fork bomb: at most {forked} processes of {MAX_PROCS} allowed, cut off after {elapsed:.1f} s "
        f"({'timed out' if result.timed_out else f'exit {result.exit_code}'})"
    ))

    assert elapsed < 20
    assert result.timed_out or result.exit_code != 0
    time.sleep(0.5)
    assert processes_mentioning(marker) == []
    if kind != "bubblewrap":
        assert sandbox_containers_left() == []
