"""Bodies over the inline limit are kept content-addressed, write-once, and events carry their refs."""

import hashlib

import pytest
from wave_llm import BlobNotFound, CallRecorder, FileBlobStore, Message, ModelRequest, ModelResponse


async def test_a_blob_is_stored_under_its_hash_and_read_back(tmp_path):
    store = FileBlobStore(tmp_path / "blobs")
    data = b"a body" * 1000
    ref = await store.put(data)
    digest = hashlib.sha256(data).hexdigest()
    assert (ref.ref, ref.size) == (f"sha256:{digest}", len(data))
    assert (tmp_path / "blobs" / "sha256" / digest[:2] / digest).read_bytes() == data
    assert await store.get(ref) == data
    assert await store.get(ref.ref) == data


async def test_blobs_are_written_once_and_read_only(tmp_path):
    store = FileBlobStore(tmp_path)
    first = await store.put(b"same")
    path = store.path_of(first)
    mtime = path.stat().st_mtime_ns
    second = await store.put(b"same")
    assert first == second
    assert path.stat().st_mtime_ns == mtime
    assert path.stat().st_mode & 0o222 == 0
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


async def test_missing_and_corrupt_blobs_are_reported(tmp_path):
    store = FileBlobStore(tmp_path)
    with pytest.raises(BlobNotFound):
        await store.get("sha256:" + "0" * 64)
    ref = await store.put(b"original")
    path = store.path_of(ref)
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(BlobNotFound, match="corrupt"):
        await store.get(ref)
    with pytest.raises(ValueError, match="not a content ref"):
        store.path_of("md5:abc")


def _call(prompt_text: str, answer: str):
    request = ModelRequest(
        role="developer", model="m", messages=(Message(role="user", content=prompt_text),), max_tokens=10
    )
    response = ModelResponse(
        text=answer, input_tokens=5, output_tokens=6, model="m", provider="scripted", latency_ms=1.5
    )
    return request, response


async def test_record_keeps_small_bodies_inline_and_large_ones_by_ref(tmp_path):
    recorder = CallRecorder(FileBlobStore(tmp_path), inline_limit=1024)
    request, response = _call("p" * 2000, "short answer")
    event = await recorder.answered(request, response, cost_usd=0.25)
    assert event.prompt is None and event.prompt_ref.size > 2000
    assert event.response == "short answer" and event.response_ref is None
    stored = await FileBlobStore(tmp_path).get(event.prompt_ref)
    assert request.model_dump()["messages"][0]["content"] in stored.decode()
    assert (event.cost_usd, event.latency_ms, event.outcome) == (0.25, 1.5, "ok")


async def test_a_failed_call_is_recorded_with_its_error(tmp_path):
    recorder = CallRecorder(FileBlobStore(tmp_path))
    request, _ = _call("hello", "")
    event = await recorder.failed(request, "anthropic", RuntimeError("HTTP 500"), latency_ms=12.0)
    assert (event.outcome, event.provider, event.model, event.cost_usd) == ("error", "anthropic", "m", 0.0)
    assert "HTTP 500" in event.error
