"""JSON Schema export of every registered event version.

Regenerate the checked-in files with `python -m wave_events.schemas libs/events/schemas`;
a test fails when they drift from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic.json_schema import DEFAULT_REF_TEMPLATE

from .base import DomainEvent, EventRegistry, registry


def payload_schema(model: type[DomainEvent], ref_template: str = DEFAULT_REF_TEMPLATE) -> dict[str, Any]:
    """The JSON Schema of one event version's payload; its value objects are referenced through
    `ref_template` (by default kept in its own `$defs`)."""
    schema = model.model_json_schema(ref_template=ref_template)
    schema["title"] = model.event_type
    schema["x-event-type"] = model.event_type
    schema["x-event-version"] = model.event_version
    return schema


def schema_documents(events: EventRegistry = registry) -> dict[str, dict[str, Any]]:
    """File name → JSON Schema, one per (type, version)."""
    documents = {}
    for model in events.all_models():
        schema = payload_schema(model)
        schema["$id"] = f"https://wave.dev/schemas/events/{model.event_type}.v{model.event_version}.json"
        documents[f"{model.event_type}.v{model.event_version}.json"] = schema
    return documents


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schema_documents().items():
        path = directory / name
        path.write_text(render(schema))
        written.append(path)
    return written


def drift(directory: Path) -> list[str]:
    """Schema files that are missing, stale or no longer backed by a model."""
    expected = {name: render(schema) for name, schema in schema_documents().items()}
    present = {p.name for p in directory.glob("*.json")} if directory.is_dir() else set()
    problems = [f"{name}: missing" for name in sorted(set(expected) - present)]
    problems += [f"{name}: no model registers it" for name in sorted(present - set(expected))]
    problems += [
        f"{name}: differs from the model"
        for name in sorted(set(expected) & present)
        if (directory / name).read_text() != expected[name]
    ]
    return problems


def main(argv: list[str]) -> int:
    check = "--check" in argv
    arguments = [a for a in argv if a != "--check"]
    unknown = [a for a in arguments if a.startswith("-")]
    if unknown or len(arguments) > 1:
        print("usage: python -m wave_events.schemas [--check] [DIRECTORY]", file=sys.stderr)
        return 2
    target = Path(arguments[0] if arguments else "libs/events/schemas")
    if check:
        problems = drift(target)
        for problem in problems:
            print(f"{target}/{problem}", file=sys.stderr)
        if problems:
            print("the checked-in schemas drifted from the models; run `make schemas`", file=sys.stderr)
        return 1 if problems else 0
    for path in write(target):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
