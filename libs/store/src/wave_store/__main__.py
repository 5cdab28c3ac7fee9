"""`python -m wave_store migrate`: apply the PostgreSQL store's migrations and stop.

Every process also migrates when it opens the store; a deployment runs this first (a Kubernetes Job)
so the services start on a ready schema. Reads WAVE_DATABASE_URL; safe to run from several processes
at once (an advisory lock serialises them) and again (applied migrations are skipped).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import asyncpg

from .config import StoreSettings, check_store_url
from .errors import StoreError


async def _migrate(url: str) -> list[str]:
    from .postgres import migrate

    connection = await asyncpg.connect(url)
    try:
        return await migrate(connection)
    finally:
        await connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wave_store", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply the migrations WAVE_DATABASE_URL's database lacks, then stop")
    parser.parse_args(argv)
    try:
        url = check_store_url(StoreSettings().database_url)
    except StoreError as exc:
        print(f"wave_store: error: {exc}", file=sys.stderr)
        return 1
    if not url.startswith(("postgresql://", "postgres://")):
        print(
            "wave_store: error: WAVE_DATABASE_URL must be a postgresql:// URL (the embedded SQLite store migrates when opened)",
            file=sys.stderr,
        )
        return 1
    try:
        applied = asyncio.run(_migrate(url))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"wave_store: error: cannot migrate {url.split('@')[-1]}: {exc}", file=sys.stderr)
        return 1
    print(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "the schema is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
