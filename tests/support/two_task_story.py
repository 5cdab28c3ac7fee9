"""A story of two tasks on the shop example, each adding a function and its test file, both first
attempts wrong: QA's first failure names a test of each task, and the fixer's answers fix both. Its
cassette is made from real diffs, written in a scratch copy of the repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

WAVE = [sys.executable, "-m", "wave_cli"]
ROOT = Path(__file__).resolve().parents[2]
STORY = "Add a display name and a health route"

NAMES = '"""Customer names."""\n\n\ndef initials(first: str, last: str) -> str:\n    return f"{first[:1]}{last[:1]}".upper()\n'
ROUTES = '"""The HTTP routes\' handlers: plain functions returning (status, body)."""\n\n\ndef version() -> tuple[int, dict[str, str]]:\n    return 200, {"version": "0.1.0"}\n'

NAMES_WRONG = NAMES + '\n\ndef display_name(first: str, last: str) -> str:\n    return f"{first} {last[:1]}."\n'
NAMES_FIXED = NAMES + '\n\ndef display_name(first: str, last: str) -> str:\n    return f"{first.strip().capitalize()} {last.strip()[:1].upper()}."\n'
NAME_TEST = 'from shop.profile.names import display_name\n\n\ndef test_display_name():\n    assert display_name(" ada ", "lovelace") == "Ada L."\n'
ROUTES_WRONG = ROUTES + '\n\ndef health() -> tuple[int, dict[str, str]]:\n    return 500, {"status": "ok"}\n'
ROUTES_FIXED = ROUTES + '\n\ndef health() -> tuple[int, dict[str, str]]:\n    return 200, {"status": "ok"}\n'
HEALTH_TEST = 'from shop.api.routes import health\n\n\ndef test_health():\n    assert health() == (200, {"status": "ok"})\n'

PLAN = {
    "feasible": True,
    "summary": "a display name and a health route",
    "tasks": [
        {"task_id": "display-name", "domain": "profile", "description": "Add display_name(first, last) with tests",
         "acceptance_criteria": ["display_name(' ada ', 'lovelace') == 'Ada L.'"],
         "files_of_interest": ["shop/profile/names.py", "tests/test_display_name.py"]},
        {"task_id": "health", "domain": "api", "description": "Add health() with tests",
         "acceptance_criteria": ["health() == (200, {'status': 'ok'})"],
         "files_of_interest": ["shop/api/routes.py", "tests/test_health.py"]},
    ],
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def diff_of(scratch: Path, files: dict[str, str]) -> str:
    """The diff that writes `files` in the scratch repository (then committed there, so the next diff
    is written against it)."""
    for name, text in files.items():
        (scratch / name).parent.mkdir(parents=True, exist_ok=True)
        (scratch / name).write_text(text)
    git(scratch, "add", "-A")
    diff = git(scratch, "diff", "--cached")
    git(scratch, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "step")
    return diff


def two_task_cassette(tmp_path: Path) -> Path:
    scratch = tmp_path / "scratch"
    shutil.copytree(ROOT / "examples" / "shop-repo", scratch)
    git(scratch, "init", "-q")
    diff_of(scratch, {})
    names = diff_of(scratch, {"shop/profile/names.py": NAMES_WRONG, "tests/test_display_name.py": NAME_TEST})
    health = diff_of(scratch, {"shop/api/routes.py": ROUTES_WRONG, "tests/test_health.py": HEALTH_TEST})
    names_fix = diff_of(scratch, {"shop/profile/names.py": NAMES_FIXED})
    health_fix = diff_of(scratch, {"shop/api/routes.py": ROUTES_FIXED})
    usage = {"input_tokens": 100, "output_tokens": 50, "model": "claude-sonnet-4-5"}

    def change(role: str, task: str, diff: str) -> dict:
        return {"role": role, "task": task, "response": {"text": f"Rationale: {task}.\n```diff\n{diff}```\n", **usage}}

    document = {"version": 1, "interactions": [
        {"role": "planner", "response": {"text": json.dumps(PLAN), **usage}},
        change("developer", "display-name", names),
        change("developer", "health", health),
        change("fixer", "display-name", names_fix),
        change("fixer", "health", health_fix),
    ]}
    path = tmp_path / "cassette.json"
    path.write_text(json.dumps(document))  # JSON is YAML
    return path


def wave(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WAVE_", "ANTHROPIC_", "OPENAI_", "XAI_"))}
    environment.update(WAVE_HOME=str(home), COLUMNS="200", WAVE_RETRY_BASE_S="0.05", WAVE_RETRY_CAP_S="0.2")
    return subprocess.run([*WAVE, *args], capture_output=True, text=True, env=environment, timeout=280, cwd=ROOT)
