"""`wave run` with delivery `pr` (from the WAVE_DELIVERY setting): the sample story, played from its
cassette, goes through a pull request on the local fake git host — pushed, opened, a status per gate,
the required check awaited, merged through the API — and the host's token appears nowhere WAVE writes."""

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
TOKEN = "ghp_" + "Tok3nThatMustNeverBeStored" * 2


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_story_delivered_as_a_pull_request_is_merged_on_the_host_and_the_token_is_never_written(tmp_path: Path) -> None:
    files = demo_files(EXAMPLES)
    repo = fresh_repository(files.repo, tmp_path / "sample-repo")
    make_bare(tmp_path / "host.git")
    git(repo, "remote", "add", "origin", str(tmp_path / "host.git"))
    git(repo, "push", "-q", "origin", "main")
    local_main = git(repo, "rev-parse", "main").strip()

    looks: dict[str, int] = {}

    def ci(commit: str) -> dict[str, tuple[str, str]]:
        looks[commit] = looks.get(commit, 0) + 1  # the CI reports on the second look at a commit
        return {"ci/test": ("success", "all green")} if looks[commit] > 1 else {}

    host = FakeGitHost(tmp_path / "host.git", token=TOKEN, required={"main": ["ci/test"]}, ci=ci).start()
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAVE_")}
    env.update(
        WAVE_HOME=str(home), COLUMNS="200", WAVE_RETRY_BASE_S="0.05", WAVE_RETRY_CAP_S="0.2",
        WAVE_DELIVERY="pr", WAVE_GITOPS_REMOTE="origin", WAVE_GIT_HOST="github", WAVE_GIT_HOST_API_URL=host.api_url,
        WAVE_GIT_HOST_REPO=host.repository, WAVE_GIT_HOST_TOKEN=TOKEN, WAVE_GIT_HOST_POLL_S="0.2",
    )
    try:
        run = subprocess.run(
            [*WAVE, "run", f"@{files.story}", "--repo", str(repo), "--cassette", str(files.cassette), "--json"],
            capture_output=True, text=True, env=env, timeout=280,
        )
    finally:
        host.stop()

    assert run.returncode == 0, run.stdout + run.stderr
    document = json.loads(run.stdout)
    run_id = document["run_id"]
    assert document["status"] == "completed"
    (pull,) = host.pulls.values()
    assert (pull["head"], pull["base"], pull["merged"]) == (f"wave/{run_id}", "main", True)
    assert document["merge_commit"] == host.branch_head("main") == pull["merge_commit_sha"]
    assert git(repo, "rev-parse", "main").strip() == local_main  # landed on the host, not in the local copy
    head = host.branch_head(f"wave/{run_id}")
    assert host.statuses_of(head) == {
        "wave/G3-safe": "success", "wave/G4-committed": "success", "wave/G5-tested": "success", "wave/G6-approved": "success",
    }
    assert looks[head] >= 2  # the required check was pending at first and looked at again

    shown = subprocess.run([*WAVE, "events", run_id, "--json"], capture_output=True, text=True, env=env, timeout=60)
    types = [e["type"] for e in json.loads(shown.stdout)]
    assert types.count("PullRequestOpened") == 1 and "HostChecksDue" in types and "HostChecksPassed" in types
    assert types.index("HostChecksPassed") < types.index("MergeApproved") < types.index("Merged")
    status = subprocess.run([*WAVE, "status", run_id], capture_output=True, text=True, env=env, timeout=60)
    assert f"pull request #{pull['number']} on github acme/shop" in status.stdout

    replay = subprocess.run([*WAVE, "replay", run_id, "--execute"], capture_output=True, text=True, env=env, timeout=120)
    assert replay.returncode == 0, replay.stdout + replay.stderr

    # Every API call carried the token; nothing WAVE printed or stored holds it.
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in host.requests)
    written = [run.stdout, run.stderr, shown.stdout, status.stdout]
    written += [p.read_bytes().decode("utf-8", "replace") for p in home.rglob("*") if p.is_file()]
    assert not any(TOKEN in text for text in written)
