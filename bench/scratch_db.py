"""Throw-away databases on the benchmark server, so a run never touches data it did not write."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` instead of its own."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_of(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise ValueError(f"database URL {url!r} names no database")
    return name


@asynccontextmanager
async def scratch_databases(url: str, *labels: str) -> AsyncIterator[dict[str, str]]:
    """Create one empty database per label (wave_bench_<random>_<label>) and drop them all on exit."""
    tag = secrets.token_hex(4)
    names = {label: f"wave_bench_{tag}_{label}" for label in labels}
    admin = await asyncpg.connect(url)
    try:
        for name in names.values():
            await admin.execute(f'CREATE DATABASE "{name}"')
        yield {label: with_database(url, name) for label, name in names.items()}
    finally:
        for name in names.values():
            # WITH (FORCE) ends connections a failed benchmark may have left behind.
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
