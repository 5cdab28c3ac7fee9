"""A private PostgreSQL 15 server for tests that must stop or kill the database.

The shared local server (deploy/local, port 55432) serves every other test and engineer; stopping it
would break them. `PrivatePostgres` uses the same Debian binaries and settings as
deploy/local/postgres.sh, run as the `postgres` user (initdb refuses root), with its data in a
directory of its own and a free port, so it can be stopped, killed and started again on the same data.

    pg = PrivatePostgres()
    pg.start()              # initdb the first time; creates database `wave`
    pg.stop()               # pg_ctl -m fast (what `systemctl stop` does); pg.kill9(): SIGKILL the postmaster
    pg.start()              # same data, same port: crash recovery after a kill
    pg.close()              # stop whatever runs and remove the data
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from fault_broker import free_port, port_open

PG_BIN = Path(os.environ.get("WAVE_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *args], capture_output=True, text=True, **kwargs)


class PrivatePostgres:
    def __init__(self) -> None:
        # Not under pytest's tmp_path: its root is private to root, and the server runs as postgres.
        self.base_dir = Path(tempfile.mkdtemp(prefix="wave-private-pg-"))
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir / "sock"
        self.log_path = self.base_dir / "postgres.log"
        self.port = free_port()
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.base_dir, "postgres")
            shutil.chown(self.socket_dir, "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/wave"

    def _pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @property
    def alive(self) -> bool:
        pid = self._pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def start(self, timeout: float = 60.0) -> float:
        """Start (or restart on the same data); returns the seconds until it accepted connections."""
        started = time.monotonic()
        if not (self.data_dir / "PG_VERSION").exists():
            done = _as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                                 "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
            if done.returncode != 0:
                raise RuntimeError(f"initdb failed: {done.stderr}")
        done = _as_postgres([
            str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-w", "-t", str(int(timeout)), "-l", str(self.log_path),
            "-o", f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                  "-c fsync=off -c shared_buffers=32MB",
            "start",
        ])  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"the private PostgreSQL did not start: {done.stdout}{done.stderr}\n{self.tail()}")
        while not port_open(self.port):
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"the private PostgreSQL does not listen on {self.port}:\n{self.tail()}")
            time.sleep(0.1)
        exists = _as_postgres([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-tAc",
                               "select 1 from pg_database where datname = 'wave'"])
        if "1" not in exists.stdout:
            _as_postgres([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "wave"])
        return time.monotonic() - started

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop: `fast` ends every session (what an operator's stop does), `immediate` is a crash."""
        if self.alive:
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"])

    def kill9(self) -> None:
        """SIGKILL of the postmaster (only the one this object started); its backends exit when they notice."""
        pid = self._pid()
        if pid is None or not self.alive:
            return
        backends = _children(pid)
        os.kill(pid, signal.SIGKILL)
        # The orphaned backends notice within a moment and exit; until they have, their shared memory
        # keeps a new postmaster from starting.
        deadline = time.monotonic() + 15
        while (self.alive or any(_running(b) for b in backends)) and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
