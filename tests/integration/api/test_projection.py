"""The runs read model: the table the live projector keeps equals one rebuilt from the log."""

from __future__ import annotations

import asyncio

from api_server import escalated_run
from gitops_repos import make_repo
from wave_app import commands
from wave_app.projection import RunsProjector
from wave_events import catalogue as ev
from wave_events.envelope import new_envelope
from wave_store import open_store
from wave_store.tables import open_tables


async def table(tables) -> list:
    return await tables.list_runs(limit=1000)


async def test_a_rebuild_from_scratch_equals_the_live_table(tmp_path):
    make_repo(tmp_path / "repo")
    repo = tmp_path / "repo"
    store = await open_store(f"sqlite:///{tmp_path / 'wave.db'}")
    tables = await open_tables(store)
    try:
        live = RunsProjector(store, tables)
        first = await escalated_run(store, repo)
        await live.catch_up()  # the live projector sees the log in several steps
        second = await commands.submit_run(store, actor="bo", story="Second story", repo=str(repo))
        await commands.record_decision(store, first, actor="ana", decision="approve", escalation_id="e1")
        await live.catch_up()
        stream = f"run-{second}"
        await store.append(stream, [new_envelope(stream, ev.RunCancelled(cancelled_by="bo", reason="r"), producer="t")], 1)
        await commands.submit_run(store, actor="cy", story="Third", repo=str(repo))
        await live.catch_up()
        live_rows = await table(tables)
        assert {r.run_id: r.status for r in live_rows}[second] == "cancelled"
        assert len(live_rows) == 3

        rebuilt_position = await RunsProjector(store, tables).rebuild()
        assert rebuilt_position == await store.last_position()
        assert await table(tables) == live_rows
    finally:
        await tables.close()
        await store.close()


def test_wave_projections_rebuild_runs_rebuilds_the_table(tmp_path):
    from cli_process import wave

    make_repo(tmp_path / "repo")

    async def submit() -> str:
        async with await open_store(f"sqlite:///{tmp_path / 'wave.db'}") as store:
            return await commands.submit_run(store, actor="ana", story="Story", repo=str(tmp_path / "repo"))

    async def rows() -> list:
        async with await open_store(f"sqlite:///{tmp_path / 'wave.db'}") as store:
            tables = await open_tables(store)
            try:
                return await table(tables)
            finally:
                await tables.close()

    run_id = asyncio.run(submit())
    result = wave(tmp_path, "projections", "rebuild", "runs")
    assert result.returncode == 0, result.stderr
    assert "rebuilt up to position 1" in result.stdout
    assert [(r.run_id, r.title, r.status) for r in asyncio.run(rows())] == [(run_id, "Story", "running")]
