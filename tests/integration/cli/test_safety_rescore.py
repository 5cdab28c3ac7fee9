"""`wave safety rescore` on a store holding the demo run: the stored actions scored again under another
policy — by the rules alone, or with the safety_judge when asked — each verdict that would change
listed with the rule, nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from histories import demo_history, store_history
from wave_cli.demo import demo_files, fresh_repository

WAVE = [sys.executable, "-m", "wave_cli"]
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_stricter_policy_changes_the_demo_runs_verdicts(tmp_path: Path) -> None:
    files = demo_files(EXAMPLES)
    repo = fresh_repository(files.repo, tmp_path / "sample-repo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAVE_", "ANTHROPIC_", "OPENAI_", "XAI_"))}
    env.update(WAVE_HOME=str(tmp_path / "home"), COLUMNS="200")
    run = subprocess.run([*WAVE, "run", f"@{files.story}", "--repo", ".", "--cassette", str(files.cassette)],
                         capture_output=True, text=True, env=env, cwd=repo, timeout=280)
    assert run.returncode == 0, run.stdout + run.stderr
    db = tmp_path / "home" / "wave.db"
    stored = db.read_bytes()

    same = subprocess.run([*WAVE, "safety", "rescore"], capture_output=True, text=True, env=env, timeout=60)
    assert same.returncode == 0, same.stderr
    assert same.stdout.strip().endswith("would change")
    assert ": 0 would change" in same.stdout and "verdicts re-scored" in same.stdout

    strict = tmp_path / "strict.toml"
    strict.write_text("max_diff_bytes = 10\n")
    changed = subprocess.run([*WAVE, "safety", "rescore", "--policy", str(strict)],
                             capture_output=True, text=True, env=env, timeout=60)
    assert changed.returncode == 0, changed.stderr
    assert "allow -> escalate" in changed.stdout and "diff.too_large" in changed.stdout
    assert ": 0 would change" not in changed.stdout
    assert db.read_bytes() == stored  # nothing written

    later = subprocess.run([*WAVE, "safety", "rescore", "--policy", str(strict), "--since", "2999-01-01"],
                           capture_output=True, text=True, env=env, timeout=60)
    assert "0 verdicts re-scored" in later.stdout

    strict.write_text("max_diff_bytez = 10\n")
    bad = subprocess.run([*WAVE, "safety", "rescore", "--policy", str(strict)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "unknown setting 'max_diff_bytez'" in bad.stderr


def _judge_cassette(path: Path, *risks: float) -> Path:
    answers = [
        {"role": "safety_judge", "response": {
            "text": json.dumps({"risk": risk, "principles": ["respect_budgets"], "reason": f"judged {risk}"}),
            "input_tokens": 700, "output_tokens": 30}}
        for risk in risks
    ]
    path.write_text(yaml.safe_dump({"version": 1, "interactions": answers}, sort_keys=False))
    return path


def test_rescoring_asks_the_judge_only_when_told_and_reports_what_it_changes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run_id = store_history(home, demo_history())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAVE_", "ANTHROPIC_", "OPENAI_", "XAI_"))}
    env.update(WAVE_HOME=str(home), COLUMNS="200")
    strict = tmp_path / "strict.toml"
    strict.write_text("max_diff_bytes = 10\n")  # both diffs of the demo now escalate: diff.too_large
    cassette = _judge_cassette(tmp_path / "judge.yml", 0.0, 1.0)

    def rescore(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*WAVE, "safety", "rescore", "--policy", str(strict), *args],
                              capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)

    rules_alone = rescore()
    assert rules_alone.returncode == 0, rules_alone.stderr
    assert rules_alone.stdout.count("allow -> escalate") == 2 and "judge" not in rules_alone.stdout
    last = rules_alone.stdout.strip().splitlines()[-1]
    assert last.startswith("5 verdicts re-scored under policy rules-") and last.endswith(": 2 would change")

    judged = rescore("--judge", "--models", str(cassette), "--run", run_id)
    assert judged.returncode == 0, judged.stderr
    lines = judged.stdout.strip().splitlines()
    # The first diff: risk 0 makes it 0.75, allowed as it was; the second: risk 1 makes it 0.25, blocked.
    assert len(lines) == 2, judged.stdout
    assert f"run {run_id} diff of task slugify" in lines[0]
    assert "allow -> block (score 0.25; diff.too_large; judge: risk 1.00 (respect_budgets): judged 1.0" in lines[0]
    assert lines[1].endswith("with the safety_judge (2 model calls): 1 would change")

    no_model = rescore("--judge")
    assert no_model.returncode == 1
    assert no_model.stderr.strip().startswith("wave: error: --judge needs a model for the safety_judge role")
    lonely = rescore("--models", str(cassette))
    assert lonely.returncode == 2 and "give --judge too" in lonely.stderr
