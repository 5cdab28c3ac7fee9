"""Live events over Server-Sent Events, through a real socket: ids are global positions, and a client
that reconnects with Last-Event-ID gets exactly the events after it, then live ones."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from api_server import make_tokens, served
from wave_events import catalogue as ev
from wave_events.envelope import new_envelope
from wave_store import open_store


async def append_note(store, stream: str, n: int) -> None:
    version = await store.stream_version(stream)
    if version == 0:
        payload = ev.RunRequested(story=f"story {n}", repo="https://example.invalid/repo.git", target_branch="main",
                                  budget_usd=1, budget_tokens=1000, max_retries=1)
    else:
        payload = ev.BudgetRaised(limit_usd=float(n), limit_tokens=1000 + n, raised_by="test")
    await store.append(stream, [new_envelope(stream, payload, producer="test")], version)


class Frames:
    """The events of one open stream, read as they come (comments skipped)."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next(self, count: int, timeout: float = 10) -> list[dict]:
        frames: list[dict] = []

        async def collect() -> None:
            current: dict = {}
            async for line in self.lines:
                if line.startswith(":"):
                    continue
                if not line:
                    if "id" in current:
                        frames.append(current)
                        if len(frames) == count:
                            return
                    current = {}
                    continue
                key, _, value = line.partition(": ")
                current[key] = value

        await asyncio.wait_for(collect(), timeout)
        return frames


@pytest.mark.timeout(60)
async def test_a_client_that_reconnects_gets_exactly_the_rest_then_live_events(tmp_path):
    db = tmp_path / "wave.db"
    store = await open_store(f"sqlite:///{db}")
    tokens = await make_tokens(db)
    auth = {"Authorization": f"Bearer {tokens['viewer']}"}
    try:
        for n in range(6):
            await append_note(store, "run-aaa111" if n % 2 else "run-bbb222", n)
        with served(db) as base:
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                async with client.stream("GET", "/api/v1/stream", headers=auth) as response:
                    assert response.status_code == 200
                    assert response.headers["content-type"].startswith("text/event-stream")
                    first = await Frames(response).next(2)
                assert [int(f["id"]) for f in first] == [1, 2]
                assert first[0]["event"] == "RunRequested"
                assert json.loads(first[1]["data"])["global_position"] == 2

                resume = {**auth, "Last-Event-ID": first[-1]["id"]}
                async with client.stream("GET", "/api/v1/stream", headers=resume) as response:
                    frames = Frames(response)
                    rest = await frames.next(4)
                    await append_note(store, "run-aaa111", 99)
                    [live] = await frames.next(1)
                assert [int(f["id"]) for f in rest] == [3, 4, 5, 6]
                assert int(live["id"]) == 7 and json.loads(live["data"])["payload"]["limit_usd"] == 99

                # One run's stream: only its events, resumed the same way.
                async with client.stream("GET", "/api/v1/runs/aaa111/stream",
                                         headers={**auth, "Last-Event-ID": "2"}) as response:
                    frames = Frames(response)
                    theirs = await frames.next(3)
                    await append_note(store, "run-bbb222", 100)
                    await append_note(store, "run-aaa111", 101)
                    [mine] = await frames.next(1)
                assert [int(f["id"]) for f in theirs] == [4, 6, 7]
                assert all(json.loads(f["data"])["stream_id"] == "run-aaa111" for f in theirs)
                assert int(mine["id"]) == 9

                missing = await client.get("/api/v1/runs/nosuch/stream", headers=auth)
                assert missing.status_code == 404
                bad = await client.get("/api/v1/stream", headers={**auth, "Last-Event-ID": "yesterday"})
                assert bad.status_code == 400 and "Last-Event-ID" in bad.json()["detail"]
    finally:
        await store.close()


@pytest.mark.timeout(30)
async def test_a_quiet_stream_sends_keep_alive_comments(tmp_path):
    db = tmp_path / "wave.db"
    tokens = await make_tokens(db)
    with served(db, keep_alive_s=0.2) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            async with client.stream("GET", "/api/v1/stream",
                                     headers={"Authorization": f"Bearer {tokens['viewer']}"}) as response:
                lines = []
                async for line in response.aiter_lines():
                    lines.append(line)
                    if line.startswith(": keep-alive"):
                        break
    assert ": keep-alive" in lines


async def _take(frames, count: int) -> list[int]:
    """The ids of the next `count` events of an events_after generator (keep-alive comments skipped)."""
    ids: list[int] = []
    while len(ids) < count:
        chunk = await asyncio.wait_for(anext(frames), 10)
        ids += [int(line[4:]) for line in chunk.splitlines() if line.startswith("id: ")]
    return ids


async def _connected() -> bool:
    return False


@pytest.mark.timeout(60)
async def test_many_clients_share_one_reader_of_the_store(tmp_path):
    """Each new event is read from the store once for all the open streams, not once per client."""
    from wave_api.sse import EventFeed, events_after

    store = await open_store(f"sqlite:///{tmp_path / 'wave.db'}")
    reads = 0
    read_all = store.read_all

    async def counted(from_position: int = 0, limit: int = 1000):
        nonlocal reads
        reads += 1
        return await read_all(from_position, limit)

    store.read_all = counted  # type: ignore[method-assign]
    feed = EventFeed(store)
    try:
        await append_note(store, "run-aaa111", 0)
        await feed.start()
        clients = [events_after(feed, 0, disconnected=_connected) for _ in range(40)]
        assert [await _take(c, 1) for c in clients] == [[1]] * 40  # history: each reads it once
        reads = 0
        for n in range(1, 6):
            await append_note(store, "run-aaa111", n)
            assert [await _take(c, 1) for c in clients] == [[n + 1]] * 40
        assert reads <= 2 * 5  # the feed's reads (a page, then an empty one before it waits), not 40 x 5
        for c in clients:
            await c.aclose()
    finally:
        await feed.close()
        await store.close()


@pytest.mark.timeout(60)
async def test_a_client_too_slow_for_the_feed_reads_the_rest_from_the_store(tmp_path, monkeypatch):
    from wave_api import sse

    monkeypatch.setattr(sse, "QUEUE_LIMIT", 2)
    monkeypatch.setattr(sse, "BATCH", 3)
    store = await open_store(f"sqlite:///{tmp_path / 'wave.db'}")
    feed = sse.EventFeed(store)
    try:
        await feed.start()
        slow = sse.events_after(feed, 0, stream_id="run-bbb222", disconnected=_connected)
        fast = sse.events_after(feed, 0, disconnected=_connected)
        await append_note(store, "run-bbb222", 0)
        assert await _take(slow, 1) == [1] and await _take(fast, 1) == [1]
        for n in range(1, 30):  # many pages while `slow` reads nothing: the feed lets go of it
            await append_note(store, "run-bbb222" if n % 3 else "run-aaa111", n)
            assert await _take(fast, 1) == [n + 1]
        theirs = [p for p in range(2, 31) if (p - 1) % 3]
        assert await _take(slow, len(theirs)) == theirs  # every one of its run's events, once, in order
        await append_note(store, "run-bbb222", 99)
        assert await _take(slow, 1) == [31]  # and live ones again
        await slow.aclose()
        await fast.aclose()
    finally:
        await feed.close()
        await store.close()
