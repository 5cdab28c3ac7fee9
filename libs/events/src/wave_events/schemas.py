"""JSON Schema export of every registered event version.

Regenerate the checked-in files with `python -m wave_events.schemas libs/events/schemas`;
a test fails when they drift from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .base import EventRegistry, registry


def schema_documents(events: EventRegistry = registry) -> dict[str, dict[str, Any]]:
    """File name → JSON Schema, one per (type, version)."""
    documents = {}
    for model in events.all_models():
        schema = model.model_json_schema()
        schema["$id"] = f"https://wave.dev/schemas/events/{model.event_type}.v{model.event_version}.json"
        schema["title"] = model.event_type
        schema["x-event-type"] = model.event_type
        schema["x-event-version"] = model.event_version
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


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "libs/events/schemas")
    for path in write(target):
        print(path)
