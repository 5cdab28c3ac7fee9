"""The Sandbox port's contract: every adapter that can run on a host passes it.

Subclass `SandboxContract` once per adapter (as `Test<Adapter>`) and provide a `sandbox` fixture.
Adapters that isolate the file system and the network — every one but the bare process, which is
only used when configuration allows it — also subclass `IsolationContract`.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from wave_qa import Limits, Sandbox

QUICK = Limits(timeout_s=30, memory_mb=1024, max_procs=128)


def sh(script: str) -> list[str]:
    return ["/bin/sh", "-c", script]


class Listener:
    """A TCP listener on the host's loopback that counts the connections it accepts."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.socket.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.socket.close()


class SandboxContract:
    def test_reports_the_exit_code_and_both_outputs(self, sandbox: Sandbox, tmp_path: Path) -> None:
        result = sandbox.run(sh("echo to-out; echo to-err >&2; exit 3"), tmp_path, QUICK, {})
        assert result.exit_code == 3
        assert "to-out" in result.stdout and "to-err" in result.stderr
        assert not result.timed_out and result.duration_s >= 0

    def test_runs_in_the_workdir_and_its_writes_are_seen_afterwards(self, sandbox: Sandbox, tmp_path: Path) -> None:
        result = sandbox.run(sh("pwd; mkdir -p out && echo made > out/report.txt"), tmp_path, QUICK, {})
        assert result.exit_code == 0, result.stderr
        assert result.stdout.strip() == str(tmp_path.resolve())
        assert (tmp_path / "out" / "report.txt").read_text() == "made\n"

    def test_finds_the_interpreter_the_tests_need(self, sandbox: Sandbox, tmp_path: Path) -> None:
        result = sandbox.run(["python", "-c", "import pytest; print('pytest', pytest.__version__)"], tmp_path, QUICK, {})
        assert result.exit_code == 0, result.stderr
        assert result.stdout.startswith("pytest ")

    def test_environment_is_only_what_was_given_without_secrets(
        self, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("WAVE_FAKE_API_KEY", "sk-contract-secret")
        monkeypatch.setenv("GITHUB_TOKEN", "ghp_contractsecret")
        monkeypatch.setenv("LEAKY_SETTING", "from-the-caller")
        given = {"GREETING": "hello", "MY_API_KEY": "sk-given", "AWS_REGION": "eu-west-1", "DB_PASSWORD": "pw"}
        result = sandbox.run(["env"], tmp_path, QUICK, given)
        seen = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
        assert seen["GREETING"] == "hello"
        assert {"PATH", "HOME", "LANG"} <= set(seen)
        for name in ("WAVE_FAKE_API_KEY", "GITHUB_TOKEN", "LEAKY_SETTING", "MY_API_KEY", "AWS_REGION", "DB_PASSWORD"):
            assert name not in seen
        assert "secret" not in result.stdout and "sk-" not in result.stdout

    def test_wall_clock_kills_the_whole_tree_and_says_timed_out(self, sandbox: Sandbox, tmp_path: Path) -> None:
        limits = Limits(timeout_s=1, memory_mb=1024, max_procs=128)
        started = time.monotonic()
        result = sandbox.run(sh("(sleep 3; echo late > late.txt) & sleep 60"), tmp_path, limits, {})
        assert result.timed_out
        assert time.monotonic() - started < 15
        time.sleep(3.5)
        assert not (tmp_path / "late.txt").exists()  # the background child died with the rest

    def test_memory_limit_holds(self, sandbox: Sandbox, tmp_path: Path) -> None:
        limits = Limits(timeout_s=30, memory_mb=512, max_procs=128)
        result = sandbox.run(["python", "-c", "b = bytearray(2 * 1024**3); print('allocated')"], tmp_path, limits, {})
        assert result.exit_code != 0
        assert "allocated" not in result.stdout
        assert "MemoryError" in result.stderr

    def test_cpu_limit_stops_a_busy_loop(self, sandbox: Sandbox, tmp_path: Path) -> None:
        limits = Limits(timeout_s=30, memory_mb=1024, cpu_s=1, max_procs=128)
        result = sandbox.run(["python", "-c", "while True: pass"], tmp_path, limits, {})
        assert result.exit_code != 0
        assert not result.timed_out


class IsolationContract:
    """What a real sandbox adds: a private /tmp, no writes outside the work directory, no network."""

    def test_tmp_is_private(self, sandbox: Sandbox, tmp_path: Path) -> None:
        name = f"wave-qa-contract-{uuid.uuid4().hex}"
        hosts = Path("/tmp", f"{name}-host")
        hosts.write_text("the host's")
        try:
            # the shell's own listing: Debian's gVisor (2022-12) rejects the statx flags coreutils' ls uses
            result = sandbox.run(sh(f"echo x > /tmp/{name} && cd /tmp && echo * .*"), tmp_path, QUICK, {})
        finally:
            hosts.unlink()
        assert result.exit_code == 0, result.stderr
        assert name in result.stdout.split() and hosts.name not in result.stdout
        assert not Path("/tmp", name).exists()

    def test_nothing_outside_the_workdir_can_be_written(self, sandbox: Sandbox, tmp_path: Path) -> None:
        workdir = tmp_path / "work"
        workdir.mkdir()
        beside = tmp_path / "beside.txt"
        script = f"echo x > {beside}; echo x > /etc/wave-qa-contract; echo x > /usr/wave-qa-contract; echo done"
        result = sandbox.run(sh(script), workdir, QUICK, {})
        assert "done" in result.stdout
        assert not beside.exists()
        assert not Path("/etc/wave-qa-contract").exists() and not Path("/usr/wave-qa-contract").exists()

    def test_no_network_not_even_the_hosts_loopback(self, sandbox: Sandbox, tmp_path: Path) -> None:
        listener = Listener()
        try:
            code = (
                "import socket\n"
                f"socket.create_connection(('127.0.0.1', {listener.port}), timeout=3)\n"
                "print('connected')\n"
            )
            result = sandbox.run(["python", "-c", code], tmp_path, QUICK, {})
        finally:
            listener.close()
        assert result.exit_code != 0
        assert "connected" not in result.stdout
        assert listener.accepted == 0
