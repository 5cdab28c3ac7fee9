"""`python -m wave_store migrate`, the command a deployment runs before the services start (the
Kubernetes Job wave-migrate): it applies the schema, is a no-op the second time, and refuses a URL it
cannot migrate with one line."""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg
import pytest
from wave_store.postgres import migrations


def _migrate(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WAVE_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "wave_store", "migrate"], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.postgres
async def test_migrate_applies_the_schema_once(pg_database_url: str) -> None:
    first = _migrate(pg_database_url)
    assert first.returncode == 0, first.stderr
    names = [name for _, name, _ in migrations()]
    assert first.stdout.strip() == f"applied {len(names)} migration(s): {', '.join(names)}"
    connection = await asyncpg.connect(pg_database_url)
    try:
        recorded = [r["name"] for r in await connection.fetch("SELECT name FROM wave_schema_migrations ORDER BY version")]
        assert await connection.fetchval("SELECT to_regclass('events') IS NOT NULL")
    finally:
        await connection.close()
    assert recorded == names

    again = _migrate(pg_database_url)
    assert (again.returncode, again.stdout.strip()) == (0, "the schema is up to date")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///tmp/wave.db", "WAVE_DATABASE_URL must be a postgresql:// URL"),
        ("mysql://x@y/z", "WAVE_DATABASE_URL='mysql://x@y/z' is not supported"),
        ("", "WAVE_DATABASE_URL must be a postgresql:// URL"),
    ],
)
def test_migrate_refuses_what_it_cannot_migrate(url: str, message: str) -> None:
    result = _migrate(url)
    assert result.returncode == 1
    assert result.stderr.startswith("wave_store: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_migrate_says_when_the_server_does_not_answer() -> None:
    result = _migrate("postgresql://wave@127.0.0.1:1/wave")
    assert result.returncode == 1
    assert result.stderr.startswith("wave_store: error: cannot migrate 127.0.0.1:1/wave: ")
    assert len(result.stderr.strip().splitlines()) == 1
