"""`wave run --merge-policy model`: the sample story played from its cassette; the merge reviewer is
shown the whole run branch against its base (both attempts' work as it stands) and the plan's
acceptance criteria, and the MergeApproved records its verdict on each."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_process import wave
from wave_cli.demo import demo_files, fresh_repository

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_model_reviewer_judges_the_whole_branch_and_names_the_criteria_met(tmp_path: Path) -> None:
    files = demo_files(EXAMPLES)
    repo = fresh_repository(files.repo, tmp_path / "sample-repo")
    run = wave(tmp_path / "home", "run", f"@{files.story}", "--repo", str(repo), "--cassette", str(files.cassette),
               "--merge-policy", "model", "--json", env={"WAVE_RETRY_BASE_S": "0.05", "WAVE_RETRY_CAP_S": "0.2"})
    assert run.returncode == 0, run.stdout + run.stderr
    run_id = json.loads(run.stdout)["run_id"]
    events = json.loads(wave(tmp_path / "home", "events", run_id, "--json").stdout)

    (call,) = [e["payload"] for e in events if e["type"] == "LLMCallRecorded" and e["payload"]["role"] == "merge_reviewer"]
    prompt = json.loads(call["prompt"])["messages"][0]["content"]  # the request as sent
    base = next(e["payload"]["base_commit"] for e in events if e["type"] == "WorkspaceReady")
    whole = subprocess.run(["git", "-C", str(repo), "diff", base, f"wave/{run_id}"], capture_output=True, text=True, check=True).stdout
    changed = [line[6:] for line in whole.splitlines() if line.startswith("+++ b/")]
    assert changed and all(f"## {path}" in prompt for path in changed)
    assert all(line in prompt for line in whole.splitlines() if line.startswith("+") and not line.startswith("+++"))
    assert 'slugify.1: task slugify — slugify("Hello World") == "hello-world"' in prompt

    (approved,) = [e for e in events if e["type"] == "MergeApproved"]
    assert approved["payload"]["approver"] == "model"
    assert [(c["task_id"], c["criterion"], c["met"]) for c in approved["payload"]["criteria"]] == [
        ("slugify", 'slugify("Hello World") == "hello-world"', True),
        ("slugify", "runs of other characters become one dash", True),
        ("slugify", "no dash at either end", True),
    ]
