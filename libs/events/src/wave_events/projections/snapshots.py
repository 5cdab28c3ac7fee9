"""A `RunState` as JSON and back, exactly: what a state snapshot beside the log holds.

The JSON follows the dataclasses' annotations: a dataclass becomes an object of its fields, a tuple
an array, and a dict an array of [key, value] pairs (so its order survives a JSON store that sorts
object keys, as PostgreSQL's jsonb does). Reading goes by the same annotations, so tuples, nested
dataclasses, floats, times (ISO text) and value objects (their JSON) come back as they were: `state_from_json(state_to_json(s)) == s`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import types
import typing
from datetime import datetime
from functools import cache
from typing import Any

from pydantic import BaseModel

from . import run_state
from .run_state import RunState

# What a snapshot must have been taken by to be used: the fold's declared version and a hash of its
# source. A snapshot with another tag is ignored and the run is folded from its first event.
PROJECTION = (
    f"run_state/v{run_state.PROJECTION_VERSION}/"
    f"{hashlib.sha256(inspect.getsource(run_state).encode()).hexdigest()[:16]}"
)


def state_to_json(state: RunState) -> dict[str, Any]:
    return _encode(state)


def state_from_json(document: dict[str, Any]) -> RunState:
    return _decode(RunState, document)


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {name: _encode(item) for name, item in value.__dict__.items()}
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return [[key, _encode(item)] for key, item in value.items()]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, BaseModel):  # a payload's value object kept in the state (the summary's facts)
        return value.model_dump(mode="json")
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {name: hint for name, hint in typing.get_type_hints(cls).items() if name in names}


def _decode(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], item) for item in value)
        return tuple(_decode(arg, item) for arg, item in zip(args, value, strict=True))
    if origin is dict:
        _, item_hint = typing.get_args(hint)
        return {key: _decode(item_hint, item) for key, item in value}
    if origin is typing.Union or origin is types.UnionType:
        if value is None:
            return None
        (present,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _decode(present, value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        # Built as `run_state.replace` copies them, without `__init__` (no class here has a
        # `__post_init__`): a field a newer fold added would be missing, but then PROJECTION differs.
        instance = object.__new__(hint)
        instance.__dict__.update({name: _decode(h, value[name]) for name, h in _hints(hint).items()})
        return instance
    if hint is float:
        return float(value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return hint.model_validate(value)
    return value
