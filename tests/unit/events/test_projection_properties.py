"""Property tests: folding is chunk-independent, survives the codec, and resumes from a snapshot."""

import json
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st
from run_streams import run_streams
from wave_events import decode_envelope, encode_envelope
from wave_events.projections import RunState, fold
from wave_events.projections.snapshots import state_from_json, state_to_json


@settings(max_examples=150, deadline=None)
@given(stream=run_streams(), cuts=st.lists(st.integers(0, 60), max_size=6))
def test_folding_all_at_once_equals_folding_in_chunks(stream, cuts):
    events = stream.events
    bounds = sorted({0, len(events), *(min(c, len(events)) for c in cuts)})
    state = RunState()
    for start, end in pairwise(bounds):
        state = fold(events[start:end], state)
    assert state == fold(events)


@settings(max_examples=100, deadline=None)
@given(stream=run_streams())
def test_decoding_then_folding_equals_folding_the_originals(stream):
    decoded = [decode_envelope(encode_envelope(e)) for e in stream.events]
    assert decoded == stream.events
    assert fold(decoded) == fold(stream.events)
    assert fold(decoded).to_dict() == fold(stream.events).to_dict()


@settings(max_examples=150, deadline=None)
@given(stream=run_streams(), cut=st.integers(0, 80))
def test_a_snapshot_as_stored_plus_the_tail_equals_a_full_fold(stream, cut):
    events = stream.events
    cut = min(cut, len(events))
    # Through JSON text, as both stores keep it: tuples, nested dataclasses and dict order survive.
    stored = json.loads(json.dumps(state_to_json(fold(events[:cut])), allow_nan=False))
    restored = state_from_json(stored)
    assert restored == fold(events[:cut])
    assert list(restored.tasks) == list(fold(events[:cut]).tasks)
    resumed = fold(events[cut:], restored)
    assert resumed == fold(events)
    assert resumed.to_dict() == fold(events).to_dict()
