"""`python -m wave_runtime service --factory module:attr`: a service class, or a function that builds a
service, gives a service that handles events; anything else is refused before the process starts."""

from __future__ import annotations

import uuid

import pytest
from wave_events import catalogue as c
from wave_events import new_envelope, run_stream_id
from wave_runtime import EmbeddedRuntime, FileDeadLetters
from wave_runtime.process import load_factory
from wave_store.sqlite import SqliteEventStore


@pytest.mark.parametrize("spec", ["runtime_flow:Stamper", "runtime_flow:stamper"], ids=["class", "function"])
async def test_the_loaded_service_handles_an_event(spec: str, tmp_path) -> None:
    service = load_factory(spec)
    store = SqliteEventStore(tmp_path / "wave.db")
    dead_letters = FileDeadLetters(tmp_path / "dead-letters.jsonl")
    run_id = uuid.uuid4().hex[:12]
    request = new_envelope(run_stream_id(run_id), c.RunRequested(story="s", repo="/srv/r", budget_usd=1), producer="test")
    try:
        async with EmbeddedRuntime(store, [service], dead_letters) as runtime:
            await store.append(request.stream_id, [request], 0)
            await runtime.drain()
        events = await store.read_stream(run_stream_id(run_id))
    finally:
        await store.close()
    assert [e.type for e in events] == ["RunRequested", "WorkspaceReady"]
    assert events[1].payload.branch == f"wave/{run_id}"
    assert await dead_letters.list("stamper") == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("builtins:dict", r"^--factory builtins:dict gave \{\}, not a service"),
        ("os:sep", r"^--factory os:sep gave '/', not a service"),
        ("runtime_flow:nothing", r"^--factory runtime_flow:nothing: runtime_flow has no 'nothing'$"),
        ("no_such_module:create", r"^--factory no_such_module:create: cannot import no_such_module"),
        ("runtime_flow", r"^--factory must look like package.module:factory, got 'runtime_flow'$"),
    ],
)
def test_anything_but_a_service_is_refused_with_one_line(spec: str, message: str) -> None:
    with pytest.raises(SystemExit, match=message) as refused:
        load_factory(spec)
    assert "\n" not in str(refused.value)
