"""Whatever the store accepts, it gives back: for every model of the catalogue, payloads built from
its fields (floats include NaN and ±infinity) are either refused before anything is stored, or read
back equal to what append returned — from the stream and from the global order."""

from __future__ import annotations

import asyncio
import math
import types
import uuid
from datetime import UTC
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel, ValidationError
from wave_events import DomainEvent, UnreadableEvent, new_envelope, registry
from wave_store.sqlite import SqliteEventStore

NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
FLOATS = st.one_of(NON_FINITE, st.floats(min_value=0, max_value=1e9), st.floats())


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        for name in ("ge", "le", "min_length", "max_length", "pattern"):
            if getattr(item, name, None) is not None:
                found[name] = getattr(item, name)
    return found


def value_of(annotation: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    """Values for one field: mostly valid, sometimes just outside its constraints."""
    origin, args = get_origin(annotation), get_args(annotation)
    bounds = _bounds(metadata)
    if origin in (Union, types.UnionType):
        return st.one_of(*(value_of(a, metadata) for a in args))
    if annotation is type(None):
        return st.none()
    if origin is Literal:
        return st.sampled_from(args)
    if origin is tuple:
        return st.lists(value_of(args[0], []), min_size=bounds.get("min_length", 0), max_size=3).map(tuple)
    if origin is dict:
        return st.dictionaries(value_of(args[0], []), value_of(args[1], []), max_size=3)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return fields_of(annotation)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        low, high = bounds.get("ge", -(2**31)), bounds.get("le", 2**31)
        return st.one_of(st.integers(low, high), st.just(low - 1))
    if annotation is float:
        return FLOATS
    if annotation is str:
        if "pattern" in bounds:
            return st.from_regex(bounds["pattern"], fullmatch=True).filter(lambda s: len(s) <= bounds.get("max_length", 64))
        return st.text(min_size=bounds.get("min_length", 0), max_size=40)
    if annotation is uuid.UUID:
        return st.uuids()
    if annotation is AwareDatetime:
        return st.datetimes(timezones=st.just(UTC))
    raise AssertionError(f"no strategy for {annotation!r}: teach value_of about it")


def fields_of(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    required = {n: value_of(f.annotation, f.metadata) for n, f in model.model_fields.items() if f.is_required()}
    optional = {n: value_of(f.annotation, f.metadata) for n, f in model.model_fields.items() if not f.is_required()}
    return st.fixed_dictionaries(required, optional=optional)


MODELS = registry.all_models()


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory):
    loop = asyncio.new_event_loop()
    path: Path = tmp_path_factory.mktemp("roundtrip") / "events.db"
    store = SqliteEventStore(path)
    yield loop, store
    loop.run_until_complete(store.close())
    loop.close()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.event_type}-v{m.event_version}")
def test_what_append_accepts_reads_back_equal(sqlite_store, model: type[DomainEvent]):
    loop, store = sqlite_store

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(fields_of(model))
    def roundtrip(fields: dict[str, Any]) -> None:
        try:
            payload = model.model_validate(fields)
        except ValidationError:
            return  # refused before it reaches the store: nothing to read back
        stream = f"run-{uuid.uuid4().hex[:12]}"
        appended = loop.run_until_complete(store.append(stream, [new_envelope(stream, payload, producer="p")], 0))
        (stored,) = appended.events
        (from_stream,) = loop.run_until_complete(store.read_stream(stream))
        (from_all,) = loop.run_until_complete(store.read_all(stored.global_position - 1, 1))
        expected = stored.payload
        if model.event_version != registry.latest_version(model.event_type):
            expected = registry.decode(model.event_type, model.event_version, stored.payload.model_dump(mode="json"))
        assert not isinstance(from_all.payload, UnreadableEvent), from_all.payload
        assert from_stream.payload == expected
        assert from_all.payload == expected

    roundtrip()


def test_every_float_of_the_catalogue_is_refused_when_not_finite():
    """The strategy above reaches every float: each one, set to NaN or infinity, is refused."""
    checked = 0
    for model in MODELS:
        for name, field in model.model_fields.items():
            if field.annotation is float:
                for bad in (math.nan, math.inf, -math.inf):
                    with pytest.raises(ValidationError, match=f"{name}\n  Input should be a finite number"):
                        model.model_validate({name: bad})
                checked += 1
    assert checked >= 10
