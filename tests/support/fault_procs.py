"""Child processes and topic tools for the fault tests.

`Deployment` starts the roles of a distributed WAVE as separate OS processes, exactly as an operator
would (`python -m wave_runtime service --factory ...`, `python -m wave_runtime relay`), against one
database, one broker and a topic prefix of their own, and kills them the hard way (SIGKILL) or the
polite way (SIGTERM). It only ever signals the processes it started.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

SUPPORT = Path(__file__).resolve().parent


class Child:
    """One role in its own process; output goes to a log file (shown when a test fails)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.args, self.env, self.log_path = name, args, env, log_path
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    def start(self, **extra_env: str) -> Child:
        env = {**self.env, **extra_env}
        log = self.log_path.open("ab")
        log.write(f"\n--- start {self.name} {' '.join(self.args)} at {time.strftime('%X')}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wave_runtime", *self.args],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        self.started_at = time.monotonic()
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        """SIGKILL: no cleanup, no offset commit, no group leave, no lock release but the kernel's."""
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (a graceful stop, as Kubernetes does), SIGKILL if it does not go in time."""
        if not self.alive:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Deployment:
    database_url: str
    bootstrap: str
    prefix: str
    log_dir: Path

    def __post_init__(self) -> None:
        self.children: list[Child] = []

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "WAVE_"))}
        env.update(
            PYTHONPATH=os.pathsep.join([str(SUPPORT), *filter(None, [os.environ.get("PYTHONPATH")])]),
            WAVE_DATABASE_URL=self.database_url,
            WAVE_KAFKA_BOOTSTRAP=self.bootstrap,
            WAVE_TOPIC_PREFIX=self.prefix,
            WAVE_LOG_LEVEL="WARNING",
            WAVE_FAULT_LEDGER="1",
            PYTHONUNBUFFERED="1",
        )
        return env

    def _child(self, name: str, args: list[str]) -> Child:
        child = Child(name, args, self.env(), self.log_dir / f"{name}.log")
        self.children.append(child)
        return child

    def service(self, factory: str, name: str | None = None, health_port: int | None = None) -> Child:
        """A service process, not started yet: `deployment.service("fault_flow:create_a").start()`."""
        health = ["--health-port", str(health_port)] if health_port is not None else []
        return self._child(name or factory.rpartition(":")[2], ["service", "--factory", factory, *health])

    def relay(self) -> Child:
        return self._child("relay", ["relay"])

    def start_flow(self) -> list[Child]:
        """The relay and the two services of tests/support/fault_flow.py, started."""
        return [self.relay().start(), self.service("fault_flow:create_a").start(), self.service("fault_flow:create_b").start()]

    def stop_all(self) -> None:
        """SIGTERM to every child at once, then wait for each (SIGKILL after 10 s)."""
        for child in self.children:
            if child.alive:
                child.proc.send_signal(signal.SIGTERM)
        for child in self.children:
            child.stop(10)

    def logs(self) -> str:
        seen, out = set(), []
        for child in self.children:
            if child.log_path not in seen:
                seen.add(child.log_path)
                out.append(f"==== {child.log_path.name}\n{child.tail()}")
        return "\n".join(out)


# --- topics --------------------------------------------------------------------------------------


async def delete_topics(bootstrap: str, topics: Iterable[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [t for t in topics if t in existing]
        if doomed:
            await admin.delete_topics(doomed)
    except Exception:  # noqa: BLE001 - cleanup only
        pass
    finally:
        await admin.close()


async def group_is_stable(bootstrap: str, group: str, members: int) -> bool:
    """Whether consumer group `group` has settled with exactly `members` members (each holding its
    partitions): until then, the members that joined first hold every partition."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    # Each group as the protocol describes it: (error, group id, state, protocol type, protocol, members).
    return any(g[2] == "Stable" and len(g[5]) == members for response in described for g in response.groups)


async def until(check, timeout: float, interval: float = 0.1):  # noqa: ASYNC109
    """Await `check()` until it is truthy; returns its value, raises TimeoutError."""
    async with asyncio.timeout(timeout):
        while not (value := await check()):  # noqa: ASYNC110 - polling a check
            await asyncio.sleep(interval)
        return value


@dataclass
class TopicAudit:
    """What the events topic says, run by run: versions must be contiguous from 1 in partition order;
    a repeated version is allowed only as the same event (a relay or producer retry)."""

    records: int = 0
    runs: int = 0
    events: int = 0  # distinct (run, version)
    duplicates: int = 0  # records repeating an event already seen, with the same id
    gaps: int = 0  # a version arrived before the one preceding it
    conflicts: int = 0  # a repeated version with a different event id
    split_runs: int = 0  # a run's records on more than one partition


def audit_topic(records: list, *, skip_header: str | None = None) -> TopicAudit:
    audit = TopicAudit()
    seen: dict[str, dict[int, str]] = {}
    last: dict[str, int] = {}
    partitions: dict[str, set[int]] = {}
    for record in records:
        if skip_header and skip_header in dict(record.headers or ()):
            continue
        audit.records += 1
        meta = json.loads(record.value)
        run, version, event_id = meta["stream_id"], meta["stream_version"], meta["event_id"]
        partitions.setdefault(run, set()).add(record.partition)
        versions = seen.setdefault(run, {})
        if version in versions:
            if versions[version] == event_id:
                audit.duplicates += 1
            else:
                audit.conflicts += 1
            continue
        if version != last.get(run, 0) + 1:
            audit.gaps += 1
        versions[version] = event_id
        last[run] = max(last.get(run, 0), version)
    audit.runs = len(seen)
    audit.events = sum(len(v) for v in seen.values())
    audit.split_runs = sum(1 for p in partitions.values() if len(p) > 1)
    return audit
