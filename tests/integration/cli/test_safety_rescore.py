"""`wave safety rescore` on a store holding the demo run: the stored diffs scored again under another
policy, each verdict that would change listed with the rule, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
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
