"""A whole story delivered by `wave run`, typed from inside the target repository as a new user would:
the sample story whose first attempt fails its tests, played from its cassette, every service embedded.
What lands on `main`, what the run branch keeps, and what is left in the repository and on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from wave_cli.demo import demo_files, fresh_repository

WAVE = [sys.executable, "-m", "wave_cli"]
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def user_env(tmp_path: Path) -> dict[str, str]:
    """No WAVE_HOME: the per-user state directory is used, as on a fresh machine."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WAVE_", "ANTHROPIC_", "OPENAI_", "XAI_"))}
    environment.update(HOME=str(tmp_path / "user"), XDG_STATE_HOME=str(tmp_path / "state"), COLUMNS="200",
                       WAVE_RETRY_BASE_S="0.05", WAVE_RETRY_CAP_S="0.2")
    return environment


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp_path = tmp_path_factory.mktemp("delivery")
    files = demo_files(EXAMPLES)
    repo = fresh_repository(files.repo, tmp_path / "sample-repo")
    env = user_env(tmp_path)
    before = git(repo, "rev-parse", "main").strip()
    run = subprocess.run(
        [*WAVE, "run", f"@{files.story}", "--repo", ".", "--cassette", str(files.cassette), "--json"],
        capture_output=True, text=True, env=env, cwd=repo, timeout=280,
    )
    return {"tmp": tmp_path, "repo": repo, "env": env, "run": run, "before": before, "story": files.story}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_run_json_prints_one_object_with_the_run_and_its_final_status(delivered: dict) -> None:
    run = delivered["run"]
    assert run.returncode == 0, run.stdout + run.stderr
    document = json.loads(run.stdout)  # the whole of stdout is one JSON document
    assert document["status"] == "completed" and document["run_id"]
    assert document["merge_commit"] == git(delivered["repo"], "rev-parse", "main").strip()
    assert "TestsFailed" in run.stderr  # the live output went to stderr
    assert "into main at" in run.stderr and "(a new commit: squashed or merged)" in run.stderr


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_failed_first_attempt_lands_on_main_as_one_squashed_commit(delivered: dict) -> None:
    repo, run_id = delivered["repo"], json.loads(delivered["run"].stdout)["run_id"]
    new = git(repo, "log", "--format=%H %s", f"{delivered['before']}..main").splitlines()
    story_line = delivered["story"].read_text().splitlines()[0]
    assert len(new) == 1 and story_line.startswith(new[0].split(" ", 1)[1].rstrip("…"))
    squashed = new[0].split()[0]
    assert git(repo, "rev-parse", f"{squashed}^{{tree}}") == git(repo, "rev-parse", f"wave/{run_id}^{{tree}}")
    assert f"Wave-Run: {run_id}" in git(repo, "log", "-1", "--format=%B", squashed)
    attempts = git(repo, "log", "--format=%(trailers:key=Wave-Attempt,valueonly)", f"{delivered['before']}..wave/{run_id}")
    assert [a for a in attempts.split() if a] == ["2", "1"]  # the run branch keeps both attempts


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_nothing_wave_made_is_left_in_the_repository_and_the_store_is_per_user(delivered: dict) -> None:
    repo, tmp = delivered["repo"], delivered["tmp"]
    assert git(repo, "status", "--porcelain", "--ignored") == ""
    assert (tmp / "state" / "wave" / "wave.db").is_file()
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    listed = subprocess.run([*WAVE, "runs", "--json"], capture_output=True, text=True, env=delivered["env"],
                            cwd=elsewhere, timeout=60)
    assert [r["status"] for r in json.loads(listed.stdout)] == ["completed"]
    assert list(elsewhere.iterdir()) == []


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_status_and_events_name_the_test_that_failed(delivered: dict) -> None:
    run_id = json.loads(delivered["run"].stdout)["run_id"]
    status = subprocess.run([*WAVE, "status", run_id], capture_output=True, text=True, env=delivered["env"], timeout=60)
    events = subprocess.run([*WAVE, "events", run_id], capture_output=True, text=True, env=delivered["env"], timeout=60)
    failed = json.loads(subprocess.run([*WAVE, "events", run_id, "--json"], capture_output=True, text=True,
                                       env=delivered["env"], timeout=60).stdout)
    (tests_failed,) = [e["payload"] for e in failed if e["type"] == "TestsFailed"]
    assert tests_failed["failing_tests"] and all("test_slugify.py::" in t for t in tests_failed["failing_tests"])
    first = tests_failed["failing_tests"][0]
    assert f"last failing tests (on {tests_failed['commit'][:12]}): {first}" in status.stdout
    assert f"failing: {first}" in events.stdout
