"""What an end-to-end story run needs: the sample repository committed on main, and a cassette scripting
the planner (one task), the developer (one diff) and the merge reviewer (approve)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pygit2

ROOT = Path(__file__).resolve().parents[2]


def scripted_story_cassette(path: Path, diff: str) -> Path:
    plan = {
        "feasible": True, "summary": "add auth_header",
        "tasks": [{"task_id": "auth", "domain": "library", "description": "Add auth_header(token) in textkit/auth.py",
                   "acceptance_criteria": ["auth_header(t) == 'Bearer ' + t"], "files_of_interest": ["textkit/strings.py"]}],
    }
    usage = {"input_tokens": 100, "output_tokens": 50, "model": "claude-sonnet-4-5"}
    cassette = {"version": 1, "interactions": [
        {"role": "planner", "response": {"text": json.dumps(plan), **usage}},
        {"role": "developer", "response": {"text": f"Rationale: adds auth_header.\n```diff\n{diff}```\n", **usage}},
        {"role": "merge_reviewer", "repeat": True,
         "response": {"text": '{"approve": true, "reason": "delivered and tested"}', **usage}},
    ]}
    path.write_text(json.dumps(cassette))  # JSON is YAML
    return path


def sample_repo(path: Path) -> pygit2.Repository:
    return example_repo("sample-repo", path)


def example_repo(example: str, path: Path) -> pygit2.Repository:
    """A copy of `examples/<example>` at `path`, committed on main."""
    shutil.copytree(ROOT / "examples" / example, path)
    repo = pygit2.init_repository(str(path), initial_head="main")
    repo.index.add_all()
    repo.index.write()
    who = pygit2.Signature("dev", "dev@example.com")
    repo.create_commit("HEAD", who, who, "start", repo.index.write_tree(), [])
    return repo
