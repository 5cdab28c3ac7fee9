"""Cassettes: recorded model answers, per role, that the scripted provider plays back.

Format (YAML or JSON; the suffix decides, `.json` is JSON, anything else YAML):

    version: 1
    interactions:
      - role: planner
        match: {contains: "story text"}      # optional; a string or a list of strings, all must occur
        task: t1                             # optional; answers only calls made for task t1, in their order
        repeat: false                        # optional; true serves this answer any number of times
        response: {text: "...", input_tokens: 120, output_tokens: 40, model: "claude-sonnet-4-5"}
      - role: developer
        response: {text: "...", latency_ms: 2000}  # optional; the answer takes this long, as a real model's
      - role: fixer
        response: {error: {kind: transient, message: "overloaded"}}   # plays a failure
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import CassetteError
from .model import AgentRole, ToolCall

CASSETTE_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Match(_Strict):
    contains: tuple[str, ...] = Field(min_length=1)

    @field_validator("contains", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    def accepts(self, text: str) -> bool:
        return all(part in text for part in self.contains)


class ScriptedError(_Strict):
    kind: Literal["transient", "permanent"]
    message: str = Field(min_length=1)
    status: int | None = None


class ScriptedResponse(_Strict):
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    model: str | None = None
    error: ScriptedError | None = None
    # How long the answer takes to arrive: a model's latency, simulated (waited, not computed), so a
    # scripted run spends its time where a real one does.
    latency_ms: float = Field(default=0.0, ge=0, le=600_000)

    @model_validator(mode="after")
    def _error_alone(self) -> ScriptedResponse:
        if self.error is not None and (self.text or self.tool_calls):
            raise ValueError("a response is either an answer (text/tool_calls) or an error, not both")
        return self


class RecordedRequest(_Strict):
    """What was asked when the interaction was recorded; kept for the reader, not used for matching."""

    provider: str
    model: str
    prompt_sha256: str


class Interaction(_Strict):
    role: AgentRole
    task: str | None = None  # the task whose calls it answers (tasks are developed side by side)
    match: Match | None = None
    repeat: bool = False
    response: ScriptedResponse
    recorded: RecordedRequest | None = None


class Cassette(_Strict):
    version: Literal[1] = CASSETTE_VERSION
    interactions: tuple[Interaction, ...] = ()


def with_latency(cassette: Cassette, latency_ms: float, roles: tuple[str, ...]) -> Cassette:
    """`cassette` with every answer of `roles` taking `latency_ms` to arrive."""
    return cassette.model_copy(update={"interactions": tuple(
        x.model_copy(update={"response": x.response.model_copy(update={"latency_ms": latency_ms})}) if x.role in roles else x
        for x in cassette.interactions
    )})  # fmt: skip


def load_cassette(path: str | os.PathLike[str]) -> Cassette:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CassetteError(f"cassette {path} does not exist") from None
    try:
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise CassetteError(
            f"cassette {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        ) from None
    if document is None:
        document = {}
    try:
        return Cassette.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise CassetteError(f"cassette {path}: {where}: {first['msg']}") from None


def dump_cassette(cassette: Cassette, path: str | os.PathLike[str]) -> None:
    """Write the cassette whole to a temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = cassette.model_dump(mode="json", exclude_defaults=True)
    document["version"] = CASSETTE_VERSION
    if path.suffix == ".json":
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
