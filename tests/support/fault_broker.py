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
    """One node, broker and controller in one process. Alone (the default) it is its own quorum; in a
    `PrivateCluster` it is one of `voters`, with the cluster's id and replication settings."""

    def __init__(
        self, base_dir: Path, *, heap: str = "512m", node_id: int = 1, port: int | None = None,
        controller_port: int | None = None, voters: str | None = None, cluster_id: str | None = None,
        replication: int = 1,
    ) -> None:  # fmt: skip
        self.base_dir = Path(base_dir)
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / "kafka.log"
        self.properties = self.base_dir / "server.properties"
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()
        self.node_id = node_id
        self.voters = voters
        self.cluster_id = cluster_id
        self.replication = replication
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
        p, c, rf = self.port, self.controller_port, self.replication
        min_isr = min(2, rf)
        quorum = f"controller.quorum.voters={self.voters}" if self.voters else f"controller.quorum.bootstrap.servers=127.0.0.1:{c}"
        self.properties.write_text(
            "# A private broker+controller for one test (tests/support/fault_broker.py).\n"
            "process.roles=broker,controller\n"
            f"node.id={self.node_id}\n"
            f"{quorum}\n"
            f"listeners=PLAINTEXT://127.0.0.1:{p},CONTROLLER://127.0.0.1:{c}\n"
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{p},CONTROLLER://127.0.0.1:{c}\n"
            "controller.listener.names=CONTROLLER\n"
            "inter.broker.listener.name=PLAINTEXT\n"
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n"
            f"log.dirs={self.data_dir}\n"
            "num.partitions=1\n"
            f"offsets.topic.replication.factor={rf}\n"
            "offsets.topic.num.partitions=2\n"
            f"transaction.state.log.replication.factor={rf}\n"
            f"transaction.state.log.min.isr={min_isr}\n"
            "transaction.state.log.num.partitions=2\n"
            f"share.coordinator.state.topic.replication.factor={rf}\n"
            f"share.coordinator.state.topic.min.isr={min_isr}\n"
            f"min.insync.replicas={min_isr}\n"
            f"default.replication.factor={rf}\n"
            "group.initial.rebalance.delay.ms=0\n"
            "auto.create.topics.enable=false\n"
            # In a cluster, a dead broker is noticed by the controller within seconds (default 9 s).
            + ("broker.session.timeout.ms=3000\nbroker.heartbeat.interval.ms=500\n" if self.voters else "")
        )

    def random_cluster_id(self) -> str:
        return subprocess.run(
            [*self._java(), "kafka.tools.StorageTool", "random-uuid"], capture_output=True, text=True, check=True
        ).stdout.strip().splitlines()[-1]

    def _format(self) -> None:
        cluster_id = self.cluster_id or self.random_cluster_id()
        quorum = [] if self.voters else ["--standalone"]  # a static quorum needs no initial controllers
        result = subprocess.run(
            [*self._java(), "kafka.tools.StorageTool", "format", *quorum, "-t", cluster_id,
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
        self.launch()
        return self.wait_started(timeout)

    def launch(self) -> None:
        """Start the process without waiting for it (the nodes of a cluster wait for each other)."""
        if not self.properties.exists():
            self._write_properties()
        if not (self.data_dir / "meta.properties").exists():
            self._format()
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._launched_at = time.monotonic()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*self._java(), "kafka.Kafka", str(self.properties)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def wait_started(self, timeout: float = 120.0) -> float:
        deadline = self._launched_at + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise RuntimeError(f"the private broker exited during start-up:\n{self.tail()}")
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                if STARTED.encode() in log.read() and port_open(self.port):
                    return time.monotonic() - self._launched_at
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


class PrivateCluster:
    """`size` private brokers (each also a controller, a static KRaft quorum of them all) with one
    cluster id, replication factor `size` for the internal topics and `min.insync.replicas` 2: a
    cluster in which any one broker may die without losing an acknowledged record.

        cluster = PrivateCluster(tmp_path / "cluster")
        cluster.start()
        cluster.nodes[leader_id - 1].kill9()
        cluster.close()
    """

    def __init__(self, base_dir: Path, *, size: int = 3, heap: str = "256m") -> None:
        ports = [(free_port(), free_port()) for _ in range(size)]
        voters = ",".join(f"{i + 1}@127.0.0.1:{c}" for i, (_, c) in enumerate(ports))
        self.nodes = [
            PrivateBroker(
                Path(base_dir) / f"node-{i + 1}", heap=heap, node_id=i + 1, port=p, controller_port=c,
                voters=voters, replication=size,
            )
            for i, (p, c) in enumerate(ports)
        ]  # fmt: skip
        cluster_id = self.nodes[0].random_cluster_id()
        for node in self.nodes:
            node.cluster_id = cluster_id

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes)

    def node(self, node_id: int) -> PrivateBroker:
        return self.nodes[node_id - 1]

    def start(self, timeout: float = 180.0) -> float:
        started = time.monotonic()
        launched = [node for node in self.nodes if not node.alive]
        for node in launched:
            node.launch()
        for node in launched:
            node.wait_started(timeout)
        return time.monotonic() - started

    def close(self) -> None:
        for node in self.nodes:
            node.close()

    def logs(self) -> str:
        return "\n".join(f"==== node {n.node_id}\n{n.tail(15)}" for n in self.nodes)
