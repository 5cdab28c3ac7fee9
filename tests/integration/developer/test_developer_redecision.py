"""The developer decided again on the same event — as the runtime does after a concurrency conflict, when
another service (the notifier, for the same WorkspaceReady) appended to the run while the model wrote the
change — gives the change it already paid for instead of asking the model again."""

from __future__ import annotations

from pathlib import Path

from developer_runs import (
    PRICE_DIFF,
    answer,
    make_repo,
    plan_created,
    requested,
    scripted_client,
    workspace_ready,
    write_cassette,
)
from wave_developer import DeveloperService, GitCheckouts
from wave_events import catalogue as c


async def test_work_decided_again_after_a_conflict_is_not_done_twice(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    _, base = make_repo(origin)
    cassette = tmp_path / "cassette.yml"
    write_cassette(cassette, answer(PRICE_DIFF))  # one answer: a second conversation would find none
    service = DeveloperService(scripted_client(cassette, tmp_path), GitCheckouts(tmp_path / "scratch"))
    stream = requested(repo=str(origin))
    stream.add(plan_created("t1", files=("app.py",)))
    ready = stream.add(workspace_ready(base, location=str(origin)))
    first = await service.handle(ready.state, ready.event)
    assert [type(o).__name__ for o in first][-1] == "ChangeProposed"
    later = stream.add(c.NotificationSent(channel="#wave", idempotency_key="k", source_event_id=ready.event.event_id))
    again = await service.handle(later.state, ready.event)
    assert again == first


async def test_other_events_still_get_their_own_work(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    _, base = make_repo(origin)
    cassette = tmp_path / "cassette.yml"
    write_cassette(cassette, answer(PRICE_DIFF), answer(PRICE_DIFF))
    service = DeveloperService(scripted_client(cassette, tmp_path), GitCheckouts(tmp_path / "scratch"))
    for run in ("r1", "r2"):
        stream = requested(run, repo=str(origin))
        stream.add(plan_created("t1", files=("app.py",)))
        ready = stream.add(workspace_ready(base, location=str(origin)))
        outputs = await service.handle(ready.state, ready.event)
        assert isinstance(outputs[-1], c.ChangeProposed)
