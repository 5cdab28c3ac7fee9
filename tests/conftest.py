"""Server fixtures shared by every tier.

PostgreSQL and Kafka come from WAVE_TEST_DATABASE_URL / WAVE_TEST_KAFKA_BOOTSTRAP
when set (``make test`` sets them after starting deploy/local), else from the
deploy/local defaults. On a host with a Docker daemon, WAVE_TEST_CONTAINERS=1
starts them with testcontainers instead. A test marked ``postgres`` or ``kafka``
fails — it is never skipped — when its server does not answer.

Tests marked ``docker`` need a Docker daemon with gVisor, which only ``make test`` starts (a private
one, deploy/local/docker.sh) and announces with WAVE_TEST_DOCKER=1: without it they are deselected,
with it they fail when the daemon does not answer.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

LOCAL_DATABASE_URL = "postgresql://postgres@127.0.0.1:55432/wave"
LOCAL_KAFKA_BOOTSTRAP = "127.0.0.1:19092"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("WAVE_TEST_DOCKER") == "1":
        return
    deselected = [item for item in items if item.get_closest_marker("docker")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("docker")]


def _containers_wanted() -> bool:
    return os.environ.get("WAVE_TEST_CONTAINERS") == "1"


@pytest.fixture(autouse=True)
def _state_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """WAVE's per-user state (store, worktrees) goes to a scratch directory, never the tester's home."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """URL of a PostgreSQL server database the tests may create databases on."""
    if url := os.environ.get("WAVE_TEST_DATABASE_URL"):
        yield url
    elif _containers_wanted():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15", driver=None) as pg:
            yield pg.get_connection_url()
    else:
        yield LOCAL_DATABASE_URL


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """host:port of a Kafka broker that answers."""
    if bootstrap := os.environ.get("WAVE_TEST_KAFKA_BOOTSTRAP"):
        pass
    elif _containers_wanted():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
            return
    else:
        bootstrap = LOCAL_KAFKA_BOOTSTRAP
    host, _, port = bootstrap.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        pytest.fail(f"Kafka does not answer at {bootstrap} ({exc}); run `make up` or use `make test`")
    yield bootstrap


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture
async def pg_database_url(database_url: str) -> AsyncIterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    try:
        admin = await asyncpg.connect(database_url, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL does not answer at {database_url} ({exc}); run `make up` or use `make test`")
    name = "wave_test_" + uuid.uuid4().hex[:12]
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield _with_database(database_url, name)
    admin = await asyncpg.connect(database_url, timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def kafka_topic_name() -> str:
    """A topic name no other test uses."""
    return "wave.test." + uuid.uuid4().hex[:12]


# Figures a test reports for people (fault figures, the safety corpus report): shown in a section of
# the terminal summary, so they are read in the `make test` output without -s.
_SUMMARY: dict[str, list[str]] = {}


def pytest_terminal_summary(terminalreporter) -> None:
    for section, lines in _SUMMARY.items():
        terminalreporter.section(section)
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def summary():
    """`summary(section, text)`: add `text` to the named section of the terminal summary."""

    def add(section: str, text: str) -> None:
        _SUMMARY.setdefault(section, []).extend(text.splitlines())

    return add
