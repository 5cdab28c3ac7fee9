"""Model clients for planner tests, built the official way: a cassette file played by the scripted
provider, configured through `wave_llm.load_models_setup` and `ModelClient.from_setup`."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from wave_llm import ModelClient, load_models_setup

PLAN = {
    "feasible": True,
    "summary": "compute tax in one place",
    "tasks": [
        {
            "task_id": "t1",
            "domain": "backend",
            "description": "add tax to price()",
            "acceptance_criteria": ["price(100) returns 120"],
            "files_of_interest": ["app.py"],
        }
    ],
}


def answer(role: str, body: object, *, match: str | list[str] | None = None, tokens: int = 100) -> dict:
    text = body if isinstance(body, str) else json.dumps(body)
    interaction: dict = {"role": role, "response": {"text": text, "input_tokens": tokens, "output_tokens": tokens // 2}}
    if match is not None:
        interaction["match"] = {"contains": match}
    return interaction


def scripted_client(tmp_path: Path, *interactions: dict) -> ModelClient:
    cassette = tmp_path / "cassette.yml"
    cassette.write_text(yaml.safe_dump({"version": 1, "interactions": list(interactions)}, sort_keys=False))
    env = {"WAVE_SCRIPTED_CASSETTE": str(cassette)}
    return ModelClient.from_setup(load_models_setup(env=env, cwd=tmp_path), cwd=tmp_path)
