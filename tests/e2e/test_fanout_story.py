"""The fan-out demo story as a user runs it (examples/stories/shop-fanout): three tasks in three domains
written side by side; the payments task waits for a person while the others are integrated; the api
task's change no longer applies after the profile task's and is written again with no one asked; the
approval lands the run and its summary. Then `wave replay --execute` and `wave fork --domain-policy`
on the same run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_stories import example_repo

WAVE = [sys.executable, "-m", "wave_cli"]
ROOT = Path(__file__).resolve().parents[2]
STORY = ROOT / "examples" / "stories" / "shop-fanout"


def wave(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WAVE_", "ANTHROPIC_", "OPENAI_", "XAI_"))}
    environment.update(WAVE_HOME=str(home), COLUMNS="200", WAVE_RETRY_BASE_S="0.2")
    return subprocess.run([*WAVE, *args], capture_output=True, text=True, env=environment, timeout=timeout, cwd=ROOT)


def events_of(home: Path, run_id: str) -> list[dict]:
    return json.loads(wave(home, "events", run_id, "--json").stdout)


@pytest.mark.timeout(600)
def test_the_fanout_story_from_submission_to_merge_then_replayed_and_forked(tmp_path):
    home, repo_path = tmp_path / "home", tmp_path / "shop"
    repo = example_repo("shop-repo", repo_path)
    run = wave(home, "run", f"@{STORY / 'story.md'}", "--repo", str(repo_path), "--cassette", str(STORY / "cassette.yml"))
    assert run.returncode == 3, run.stdout + run.stderr  # waits for the payments review
    run_id = re.search(r"run (\w+) waits for a decision", run.stdout).group(1)  # type: ignore[union-attr]

    status = json.loads(wave(home, "status", run_id, "--json").stdout)
    tasks = status["tasks"]
    assert {t: tasks[t]["domain"] for t in tasks} == {"refunds": "payments", "display-name": "profile", "health": "api"}
    # The payments task waits for its review; the others went on and were integrated meanwhile.
    (review,) = status["pending_escalations"].values()
    assert review["kind"] == "task_review" and review["task_id"] == "refunds"
    assert tasks["refunds"]["commit"] is None and tasks["refunds"]["verdict"] == "allow"
    assert tasks["display-name"]["commit"] and tasks["health"]["commit"]
    assert tasks["refunds"]["policy"]["merge_policy"] == "human" and tasks["health"]["policy"]["merge_policy"] == "auto"

    events = events_of(home, run_id)
    types = [e["type"] for e in events]
    # Written side by side: the three first attempts come from one fan-out of the developer.
    firsts = [e for e in events if e["type"] == "ChangeProposed" and e["payload"]["attempt"] == 1]
    assert [e["payload"]["task_id"] for e in firsts] == ["refunds", "display-name", "health"]
    assert len({e["causation_id"] for e in firsts}) == 1
    assert {e["payload"]["task_id"] for e in events if e["type"] == "LLMCallRecorded" and e["payload"]["role"] == "developer"} == {
        "refunds", "display-name", "health",
    }
    # The api change no longer applied on the head holding the profile change: written again, nobody asked.
    (rewrite,) = [e["payload"] for e in events if e["type"] == "RewriteRequested"]
    assert rewrite["task_id"] == "health" and rewrite["attempt"] == 2 and "CHANGELOG.md" in rewrite["reason"]
    assert types.index("ChangeRejected") < types.index("RewriteRequested")
    assert not [e for e in events if e["type"] == "EscalationRequested" and e["payload"]["kind"] != "task_review"]
    assert "waiting for review" in wave(home, "status", run_id).stdout

    # What if API changes had waited for a person too? Fork just after the plan with a stricter table
    # (while the run waits, so its target branch is still where the run started).
    planned_at = next(e["stream_version"] for e in events if e["type"] == "PlanCreated")
    fork = wave(home, "fork", run_id, "--at", str(planned_at), "--domain-policy", str(STORY / "strict-domains.toml"))
    assert fork.returncode == 3, fork.stdout + fork.stderr
    child = re.search(r"run (\w+) forked from", fork.stdout).group(1)  # type: ignore[union-attr]
    forked = json.loads(wave(home, "status", child, "--json").stdout)
    assert forked["parent_run_id"] == run_id and forked["domain_table"]["source"].endswith("strict-domains.toml")
    waiting = sorted((e["kind"], e["task_id"]) for e in forked["pending_escalations"].values())
    assert waiting == [("task_review", "health"), ("task_review", "refunds")]
    assert forked["tasks"]["display-name"]["commit"]  # the profile change still went on

    approved = wave(home, "approve", run_id, "--decision", "approve", "--comment", "refund limits checked")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert "RunSummarized" in approved.stdout
    status = json.loads(wave(home, "status", run_id, "--json").stdout)
    assert status["status"] == "completed" and all(status["gates"].values())
    main = repo.revparse_single("main")
    for path in ("shop/payments/refunds.py", "tests/test_refunds.py"):
        assert main.tree[path] is not None
    changelog = main.tree["CHANGELOG.md"].data.decode()
    assert "- profile: display_name(first, last)\n- api: a health() route\n" in changelog

    (summary,) = [e["payload"] for e in events_of(home, run_id) if e["type"] == "RunSummarized"]
    assert summary["outcome"] == "completed" and summary["decisions"][0]["kind"] == "task_review"
    assert {"shop/payments/refunds.py", "shop/profile/names.py", "shop/api/routes.py", "CHANGELOG.md"} <= set(summary["files_changed"])
    implemented = next(g for g in summary["gates"] if g["gate"] == "G2 implemented")
    # Three answers of 1.5 s each, side by side: under the 4.5 s they take one after another.
    assert implemented["took_s"] < 4.5

    replay = wave(home, "replay", run_id, "--execute")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "every output matches the record" in replay.stdout

