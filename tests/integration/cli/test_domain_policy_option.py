"""`--domain-policy FILE` on `wave run` and `wave fork`: a table that cannot be used is one line naming
the file, the domain and the setting, and nothing is stored."""

from __future__ import annotations

from pathlib import Path

from cli_process import wave
from gitops_repos import make_repo

BAD = Path(__file__).resolve().parents[2] / "data" / "domains" / "bad-threshold.toml"


def test_a_domain_table_that_cannot_be_used_is_refused_before_anything_is_stored(tmp_path):
    make_repo(tmp_path / "repo")
    run = wave(tmp_path / "home", "run", "add refunds", "--repo", str(tmp_path / "repo"), "--domain-policy", str(BAD))
    assert run.returncode == 1
    assert run.stderr.strip() == (
        f"wave: error: --domain-policy {BAD}: domain 'payments': allow_threshold: Input should be less than or equal to 1"
    )
    assert "no runs" in wave(tmp_path / "home", "runs").stdout.lower()
    missing = wave(tmp_path / "home", "fork", "r-none", "--at", "1", "--domain-policy", str(tmp_path / "absent.toml"))
    assert missing.returncode != 0 and missing.stderr.count("\n") == 1 and "absent.toml" in missing.stderr
