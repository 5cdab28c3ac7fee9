"""The API tables beside the log (tokens, sessions, the runs read model) on both adapters: the same
contract, so `wave token create` and `wave serve` agree whichever database holds the store."""

from __future__ import annotations

import asyncio
import json

import pytest
from api_server import escalated_run
from gitops_repos import make_repo
from wave_app import access, commands
from wave_app.errors import Conflict
from wave_app.projection import RunsProjector
from wave_store import open_store
from wave_store.tables import open_tables


class TablesContract:
    """Each adapter's class gives the `store` fixture."""

    @pytest.fixture
    async def tables(self, store):
        opened = await open_tables(store)
        yield opened
        await opened.close()

    async def test_a_token_is_found_by_its_secret_only_while_it_lives(self, tables):
        record, secret = await access.create_token(tables, name="ana", role="approver")
        assert (await access.authenticate(tables, secret)).name == "ana"
        assert await access.authenticate(tables, secret + "x") is None
        with pytest.raises(Conflict, match="exists already"):
            await access.create_token(tables, name="ana", role="viewer")
        session = await access.open_session(tables, record)
        token, csrf_digest = await access.session_token(tables, session.session_id)
        assert token.name == "ana" and access.csrf_matches(csrf_digest, session.csrf_token)
        await access.revoke_token(tables, "ana")
        assert await access.authenticate(tables, secret) is None
        assert await access.session_token(tables, session.session_id) is None
        assert await access.list_tokens(tables) == []
        _, again = await access.create_token(tables, name="ana", role="viewer")  # the name is free again
        assert (await access.authenticate(tables, again)).role == "viewer"

    async def test_racing_creations_of_one_name_make_one_token(self, tables):
        outcomes = await asyncio.gather(
            *(access.create_token(tables, name="bo", role="viewer") for _ in range(6)), return_exceptions=True
        )
        assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
        assert all(isinstance(o, Conflict) for o in outcomes if isinstance(o, BaseException))

    async def test_the_projector_keeps_one_row_per_run_and_a_rebuild_gives_the_same(self, store, tables, tmp_path):
        make_repo(tmp_path / "repo")
        first = await escalated_run(store, tmp_path / "repo")
        second = await commands.submit_run(store, actor="bo", story="Second_story 100%", repo=str(tmp_path / "repo"))
        live = RunsProjector(store, tables)
        await live.catch_up()
        await commands.record_decision(store, first, actor="ana", decision="reject", escalation_id="e1")
        await live.catch_up()
        rows = await tables.list_runs(limit=10)
        assert [r.run_id for r in rows] == [first, second]
        assert json.loads(rows[0].pending) == [] and rows[1].title == "Second_story 100%"
        assert [r.run_id for r in await tables.list_runs(text="second story")] == []  # `_` matches itself only
        assert [r.run_id for r in await tables.list_runs(text="_story 100%")] == [second]
        assert [r.run_id for r in await tables.list_runs(before=(rows[0].last_event_at, rows[0].run_id))] == [second]
        await RunsProjector(store, tables).rebuild()
        assert await tables.list_runs(limit=10) == rows


class TestSqliteTables(TablesContract):
    @pytest.fixture
    async def store(self, tmp_path):
        async with await open_store(f"sqlite:///{tmp_path / 'wave.db'}") as opened:
            yield opened


@pytest.mark.postgres
class TestPostgresTables(TablesContract):
    @pytest.fixture
    async def store(self, pg_database_url):
        async with await open_store(pg_database_url) as opened:
            yield opened
