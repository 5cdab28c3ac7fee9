"""A private, single-node Apache Kafka (KRaft) broker for tests that must stop a broker.

The shared local broker (deploy/local, port 19092) serves every other test and engineer; stopping it
would break them. `PrivateBroker` reuses what deploy/local/kafka.sh already fetched (the jars under
.wave/kafka/libs-<version>, the log4j2 config) and the same server.properties shape, but listens on
two free ports and keeps its data in a directory of its own, so it can be killed and started again on
the same data — the way a broker pod is rescheduled onto its volume.

    broker = PrivateBroker(tmp_path / "kafka")
    broker.start()          # formats the storage the first time
    broker.kill9()          # or broker.stop() (SIGTERM), broker.pause()/resume() (SIGSTOP/SIGCONT)
    broker.start()          # same node id, same cluster id, same data
    broker.close()          # whatever state it is in; only the process it started
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STARTED = "Kafka Server started"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def kafka_libs() -> Path:
    """The jars deploy/local/kafka.sh fetched (`make up` / `make test` fetch them on a fresh machine)."""
    home = Path(os.environ.get("WAVE_LOCAL_DIR", ROOT / ".wave")) / "kafka"
    version = os.environ.get("WAVE_KAFKA_VERSION")
    candidates = [home / f"libs-{version}"] if version else sorted(home.glob("libs-*"), reverse=True)
    for libs in candidates:
        if (libs / ".complete").exists():
            return libs
    raise RuntimeError(f"no Kafka jars under {home} (libs-*/.complete); run `make up` once to fetch them")


class PrivateBroker:
    def __init__(self, base_dir: Path, *, heap: str = "512m") -> None:
        self.base_dir = Path(base_dir)
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / "kafka.log"
        self.properties = self.base_dir / "server.properties"
        self.port = free_port()
        self.controller_port = free_port()
        self.libs = kafka_libs()
        self.heap = heap
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _java(self) -> list[str]:
        return [
            "java", "-Xms128m", f"-Xmx{self.heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={ROOT / 'deploy/local/kafka-log4j2.properties'}",
            "-cp", f"{self.libs}/*",
        ]  # fmt: skip

    def _write_properties(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        p, c = self.port, self.controller_port
        self.properties.write_text(
            "# A private single-node broker+controller for one test (tests/support/fault_broker.py).\n"
            "process.roles=broker,controller\n"
            "node.id=1\n"
            f"controller.quorum.bootstrap.servers=127.0.0.1:{c}\n"
            f"listeners=PLAINTEXT://127.0.0.1:{p},CONTROLLER://127.0.0.1:{c}\n"
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{p},CONTROLLER://127.0.0.1:{c}\n"
            "controller.listener.names=CONTROLLER\n"
            "inter.broker.listener.name=PLAINTEXT\n"
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n"
            f"log.dirs={self.data_dir}\n"
            "num.partitions=1\n"
            "offsets.topic.replication.factor=1\n"
            "offsets.topic.num.partitions=2\n"
            "transaction.state.log.replication.factor=1\n"
            "transaction.state.log.min.isr=1\n"
            "transaction.state.log.num.partitions=2\n"
            "share.coordinator.state.topic.replication.factor=1\n"
            "share.coordinator.state.topic.min.isr=1\n"
            "min.insync.replicas=1\n"
            "default.replication.factor=1\n"
            "group.initial.rebalance.delay.ms=0\n"
            "auto.create.topics.enable=false\n"
        )

    def _format(self) -> None:
        cluster_id = subprocess.run(
            [*self._java(), "kafka.tools.StorageTool", "random-uuid"], capture_output=True, text=True, check=True
        ).stdout.strip().splitlines()[-1]
        result = subprocess.run(
            [*self._java(), "kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id,
             "-c", str(self.properties)],
            capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"formatting the private broker's storage failed:\n{result.stdout}\n{result.stderr}")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 120.0) -> float:
        """Start (or restart on the same data); returns the seconds until it served its listener."""
        if self.alive:
            return 0.0
        if not self.properties.exists():
            self._write_properties()
        if not (self.data_dir / "meta.properties").exists():
            self._format()
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*self._java(), "kafka.Kafka", str(self.properties)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        deadline = started + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise RuntimeError(f"the private broker exited during start-up:\n{self.tail()}")
            with self.log_path.open("rb") as log:
                log.seek(offset)
                if STARTED.encode() in log.read() and port_open(self.port):
                    return time.monotonic() - started
            time.sleep(0.2)
        raise RuntimeError(f"the private broker did not start within {timeout:.0f} s:\n{self.tail()}")

    def kill9(self) -> None:
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self, timeout: float = 30.0) -> None:
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()

    def pause(self) -> None:
        if self.alive:
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.alive:
            self.proc.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self.alive:
            self.resume()
            self.kill9()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
