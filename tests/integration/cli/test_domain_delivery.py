"""A domain's `delivery`: a run submitted without `--delivery` whose plan has a task in a domain that
says `pr` goes through a pull request on the (fake) git host; the plan records that decision. A run
that names its delivery keeps it, whatever the domains say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_git_host import FakeGitHost
from gitops_repos import make_bare
from wave_cli.demo import demo_files, fresh_repository

WAVE = [sys.executable, "-m", "wave_cli"]
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
TOKEN = "placeholder-token-1234"
# The demo story's task writes textkit/ and tests/: its domain asks for pull requests.
DOMAINS = '[[domain]]\nname = "library"\npaths = ["textkit/**", "tests/**"]\ndelivery = "pr"\n'


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def shop(tmp_path: Path):
    files = demo_files(EXAMPLES)
    repo = fresh_repository(files.repo, tmp_path / "sample-repo")
    (repo / ".wave").mkdir()
    (repo / ".wave" / "domains.toml").write_text(DOMAINS)
    git(repo, "add", ".wave/domains.toml")
    git(repo, "-c", "user.name=ops", "-c", "user.email=ops@example.com", "commit", "-q", "-m", "domains")
    make_bare(tmp_path / "host.git")
    git(repo, "remote", "add", "origin", str(tmp_path / "host.git"))
    git(repo, "push", "-q", "origin", "main")
    host = FakeGitHost(tmp_path / "host.git", token=TOKEN, required={}).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAVE_")}
    env.update(
        WAVE_HOME=str(tmp_path / "home"), COLUMNS="200", WAVE_RETRY_BASE_S="0.05", WAVE_RETRY_CAP_S="0.2",
        WAVE_GITOPS_REMOTE="origin", WAVE_GIT_HOST="github", WAVE_GIT_HOST_API_URL=host.api_url,
        WAVE_GIT_HOST_REPO=host.repository, WAVE_GIT_HOST_TOKEN=TOKEN, WAVE_GIT_HOST_POLL_S="0.2",
    )
    try:
        yield repo, files, host, env
    finally:
        host.stop()


def wave(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WAVE, *args], capture_output=True, text=True, env=env, timeout=280)


def _plan(env: dict[str, str], run_id: str) -> dict:
    events = json.loads(wave(env, "events", run_id, "--json").stdout)
    return next(e for e in events if e["type"] == "PlanCreated")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_run_without_a_delivery_goes_through_a_pull_request_when_its_domain_says_so(shop) -> None:
    repo, files, host, env = shop
    local_main = git(repo, "rev-parse", "main").strip()
    run = wave(env, "run", f"@{files.story}", "--repo", str(repo), "--cassette", str(files.cassette), "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    run_id = json.loads(run.stdout)["run_id"]
    plan = _plan(env, run_id)
    assert plan["version"] == 3 and plan["payload"]["delivery"] == "pr"
    assert plan["payload"]["domain_table"]["domains"][0]["delivery"] == "pr"
    (pull,) = host.pulls.values()
    assert (pull["head"], pull["base"], pull["merged"]) == (f"wave/{run_id}", "main", True)
    assert git(repo, "rev-parse", "main").strip() == local_main  # landed on the host, not in the local copy
    shown = wave(env, "events", run_id)
    assert "delivered as a pull request, as its domains say" in shown.stdout
    replay = wave(env, "replay", run_id, "--execute")
    assert replay.returncode == 0, replay.stdout + replay.stderr


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_an_explicit_delivery_wins_over_the_domains(shop) -> None:
    repo, files, host, env = shop
    run = wave(env, "run", f"@{files.story}", "--repo", str(repo), "--cassette", str(files.cassette), "--json",
               "--delivery", "local")
    assert run.returncode == 0, run.stdout + run.stderr
    run_id = json.loads(run.stdout)["run_id"]
    assert _plan(env, run_id)["payload"]["delivery"] is None  # the request said
    assert host.pulls == {}
    assert json.loads(run.stdout)["merge_commit"] == git(repo, "rev-parse", "main").strip()


def test_wave_run_help_tells_where_the_default_delivery_comes_from() -> None:
    shown = subprocess.run([*WAVE, "run", "--help"], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "COLUMNS": "200"})
    assert "else pr when a domain of the plan says" in " ".join(shown.stdout.split())
