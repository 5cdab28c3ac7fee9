"""An envelope whose payload is decoded when first looked at behaves, in every way a reader can
tell, like the envelope decoded at once."""

from __future__ import annotations

import copy
import pickle
import uuid

from wave_events import UnreadableEvent, encode_payload, new_envelope, registry
from wave_events import catalogue as c
from wave_events.envelope import lazy_envelope


def _stored(event=None):
    eager = new_envelope(
        "run-lazy", event or c.RunRequested(story="add /health", repo="/srv/app", budget_usd=2.0), producer="t"
    ).positioned(1, 7)
    return eager, encode_payload(eager.payload)


def _lazy(eager, text, calls: list | None = None, event_type=None, version=None):
    event_type, version = event_type or eager.type, version or eager.version

    def read():
        if calls is not None:
            calls.append(1)
        try:
            return registry.decode(event_type, version, text)
        except Exception as exc:  # noqa: BLE001 - what the store's reader does
            return UnreadableEvent(stored_type=event_type, stored_version=version, error=str(exc))

    fields = {name: value for name, value in eager.__dict__.items() if name != "payload"}
    return lazy_envelope(dict(fields), event_type, read)


def test_the_metadata_is_there_without_decoding_and_the_payload_is_decoded_once():
    eager, text = _stored()
    calls: list[int] = []
    lazy = _lazy(eager, text, calls)

    assert (lazy.event_id, lazy.stream_id, lazy.global_position, lazy.stored_type) == (
        eager.event_id, "run-lazy", 7, "RunRequested",
    )
    assert calls == []
    assert lazy.payload == eager.payload and lazy.type == "RunRequested" and lazy.version == eager.version
    assert lazy.payload.story == "add /health"
    assert calls == [1]


def test_a_lazy_envelope_equals_dumps_hashes_copies_and_pickles_as_the_decoded_one():
    eager, text = _stored()
    assert _lazy(eager, text) == eager and eager == _lazy(eager, text)
    assert hash(_lazy(eager, text)) == hash(eager)
    assert _lazy(eager, text).model_dump() == eager.model_dump()
    assert _lazy(eager, text).model_dump_json() == eager.model_dump_json()
    assert repr(_lazy(eager, text)) == repr(eager)
    assert dict(_lazy(eager, text)) == dict(eager)
    assert copy.copy(_lazy(eager, text)) == eager and copy.deepcopy(_lazy(eager, text)) == eager
    assert _lazy(eager, text).model_copy() == eager
    assert pickle.loads(pickle.dumps(_lazy(eager, text))) == eager
    other = _lazy(eager, text).model_copy(update={"event_id": uuid.uuid4()})
    assert other.payload == eager.payload and other != eager


def test_a_payload_that_cannot_be_decoded_reads_as_unreadable_and_keeps_its_stored_type():
    eager, _ = _stored()
    lazy = _lazy(eager, '{"story": "s", "repo": "/r", "budget_usd": null}', event_type="RunRequested", version=2)

    assert lazy.stored_type == "RunRequested"
    assert isinstance(lazy.payload, UnreadableEvent) and "budget_usd" in lazy.payload.error
    assert lazy.type == "Unreadable" and lazy.stored_type == "RunRequested"


def test_a_decoded_envelope_tells_its_stored_type_too():
    eager, _ = _stored(c.RunFailed(reason="boom"))
    assert eager.stored_type == "RunFailed"
