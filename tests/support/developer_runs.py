"""Runs, repositories and scripted models for developer tests.

A `RunStream` hands back each added event with the run folded up to and including it, which is what
the runtime gives a service. Repositories are real (pygit2, in a temporary directory); models are a
cassette played through the real `ModelClient`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pygit2
from gitops_repos import commit_files
from run_streams import RunStream
from wave_events import catalogue as c
from wave_llm import ModelClient, dump_cassette, load_models_setup
from wave_llm.cassette import Cassette, Interaction, ScriptedResponse

APP = "def price(amount):\n    return amount\n\n\ndef tax(amount):\n    return amount * 0.2\n"
TEST_APP = "from app import price\n\n\ndef test_price():\n    assert price(10) == 12\n"
FILES = {"README.md": "# shop\n", "app.py": APP, "tests/test_app.py": TEST_APP}

PRICE_DIFF = """\
--- a/app.py
+++ b/app.py
@@ -1,2 +1,2 @@
 def price(amount):
-    return amount
+    return amount + tax(amount)
"""


def requested(run_id: str = "r1", repo: str = "/repo", budget_usd: float = 5.0, budget_tokens: int = 2_000_000) -> RunStream:
    stream = RunStream(run_id)
    stream.add(
        c.RunRequested(story="prices include tax", repo=repo, budget_usd=budget_usd, budget_tokens=budget_tokens)
    )
    return stream


def plan_created(*task_ids: str, files: Sequence[str] = ()) -> c.PlanCreated:
    return c.PlanCreated(
        tasks=tuple(
            c.PlanTask(
                task_id=t, domain="backend", description=f"make price() add the tax ({t})",
                acceptance_criteria=("price(10) == 12",), files_of_interest=tuple(files),
            )
            for t in task_ids or ("t1",)
        )
    )


def workspace_ready(base: str, location: str = "/repo", branch: str = "wave/r1") -> c.WorkspaceReady:
    return c.WorkspaceReady(branch=branch, base_commit=base, location=location)


def make_repo(path: Path, files: Mapping[str, str] | None = None, branch: str = "main") -> tuple[pygit2.Repository, str]:
    """A working copy with one commit on `branch`, and a run branch `wave/r1` at the same commit."""
    repo = pygit2.init_repository(str(path), initial_head=branch)
    commit = commit_files(repo, files or FILES, "initial commit")
    repo.branches.local.create("wave/r1", repo[commit])
    return repo, str(commit)


def answer(diff: str, rationale: str = "price() adds the tax") -> dict[str, Any]:
    return {"text": f"Rationale: {rationale}\n```diff\n{diff}```\n", "input_tokens": 900, "output_tokens": 120}


def tool_call(name: str, call_id: str = "c1", **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"id": call_id, "name": name, "arguments": arguments}], "input_tokens": 500, "output_tokens": 20}


def write_cassette(path: Path, *responses: dict[str, Any], role: str = "developer") -> Path:
    cassette = Cassette(
        interactions=tuple(Interaction(role=role, response=ScriptedResponse(**r)) for r in responses)  # type: ignore[arg-type]
    )
    dump_cassette(cassette, path)
    return path


def scripted_client(cassette: Path, home: Path) -> ModelClient:
    """The real client, offline: every role plays `cassette`; blobs go under `home`."""
    setup = load_models_setup(env={"WAVE_SCRIPTED_CASSETTE": str(cassette)}, cwd=home)
    return ModelClient.from_setup(setup, cwd=home)


def of_type(outputs: Sequence[Any], kind: type) -> list[Any]:
    return [o for o in outputs if isinstance(o, kind)]
