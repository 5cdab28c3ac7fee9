"""A failure on the integrated head goes to every task whose files the failing tests live in: a story of
two tasks, each adding a function and its test file, both first attempts wrong. QA's failure names a
test of each task; one retry fixes both side by side, and the run merges."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_stories import example_repo

WAVE = [sys.executable, "-m", "wave_cli"]
ROOT = Path(__file__).resolve().parents[3]

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


def cassette(tmp_path: Path) -> Path:
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


@pytest.mark.timeout(300)
def test_a_failure_traced_to_two_tasks_fixes_both_and_the_run_merges(tmp_path):
    home, repo = tmp_path / "home", tmp_path / "shop"
    example_repo("shop-repo", repo)
    run = wave(home, "run", "Add a display name and a health route", "--repo", str(repo),
               "--cassette", str(cassette(tmp_path)), "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    run_id = json.loads(run.stdout)["run_id"]
    events = json.loads(wave(home, "events", run_id, "--json").stdout)

    (failed,) = [e["payload"] for e in events if e["type"] == "TestsFailed"]
    assert sorted(t.split("::")[0] for t in failed["failing_tests"]) == ["tests/test_display_name.py", "tests/test_health.py"]
    # One retry for the failure, naming both tasks.
    (retry,) = [e["payload"] for e in events if e["type"] == "RetryScheduled"]
    assert retry["retry"] == 1 and retry["reason"].endswith("fixing tasks display-name, health")
    (fix,) = [e["payload"] for e in events if e["type"] == "FixRequested"]
    assert (fix["task_id"], fix["attempt"], fix["also"]) == ("display-name", 2, [{"task_id": "health", "attempt": 2}])
    # Both tasks were written again by the fixer, side by side (from the one fix request), and integrated.
    fixes = [e for e in events if e["type"] == "ChangeProposed" and e["payload"]["attempt"] == 2]
    assert sorted(e["payload"]["task_id"] for e in fixes) == ["display-name", "health"]
    assert len({e["causation_id"] for e in fixes}) == 1
    committed = {e["payload"]["task_id"] for e in events if e["type"] == "ChangeCommitted" and e["payload"]["attempt"] == 2}
    assert committed == {"display-name", "health"}
    assert [e["type"] for e in events].count("TestsPassed") == 1 and events[-2]["type"] == "RunCompleted"

    # What landed on main holds both fixes.
    assert "capitalize()" in git(repo, "show", "main:shop/profile/names.py")
    assert "return 200, {\"status\": \"ok\"}" in git(repo, "show", "main:shop/api/routes.py")
    # The decisions replay as recorded.
    replay = wave(home, "replay", run_id, "--execute")
    assert replay.returncode == 0, replay.stdout + replay.stderr
