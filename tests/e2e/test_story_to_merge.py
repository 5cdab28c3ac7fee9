"""Story → merged branch, as a user runs it: `wave demo` embedded, and `wave demo --stack` with the relay
and every service as its own process over the real PostgreSQL and Kafka. The sample story's cassette
makes the first change fail its tests; the fix passes and is merged into the sample repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest

WAVE = [sys.executable, "-m", "wave_cli"]
ROOT = Path(__file__).resolve().parents[2]


def wave(home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WAVE_", "ANTHROPIC_", "OPENAI_", "XAI_"))}
    environment.update(WAVE_HOME=str(home), COLUMNS="200", WAVE_RETRY_BASE_S="0.2", **(env or {}))
    return subprocess.run([*WAVE, *args], capture_output=True, text=True, env=environment, timeout=timeout, cwd=ROOT)


def _run_id(output: str) -> str:
    for line in output.splitlines():
        if line.startswith("run ") and "submitted" in line:
            return line.split()[1]
    raise AssertionError(f"no run id in the output:\n{output}")


def _assert_merged_with_one_retry(home: Path, demo: subprocess.CompletedProcess[str], env: dict[str, str] | None = None) -> str:
    out = demo.stdout
    assert demo.returncode == 0, out + demo.stderr
    assert "offline: scripted model responses" in out
    for gate in ("G0 planned", "G1 workspace", "G2 implemented", "G3 safe", "G4 committed", "G5 tested",
                 "G6 approved", "G7 merged"):
        assert f"✓ {gate}" in out
    assert out.count("TestsFailed") == 1 and "RetryScheduled" in out and "FixRequested" in out
    run_id = _run_id(out)
    assert f"wave status {run_id}" in out and f"wave events {run_id}" in out and f"wave replay {run_id}" in out

    repo = pygit2.Repository(str(home / "demo" / "sample-repo"))
    main = repo.revparse_single("main")
    source = (main.tree / "textkit" / "strings.py").data.decode()
    assert 'text.lower()).strip("-")' in source  # the fix, not the first attempt
    assert "test_slugify.py" in [entry.name for entry in main.tree / "tests"]

    status = json.loads(wave(home, "status", run_id, "--json", env=env).stdout)
    assert status["status"] == "completed"
    assert all(status["gates"].values())
    assert status["retries"] == 1
    assert status["merge_commit"] == str(main.id)
    assert status["budget_used_tokens"] > 0

    events = json.loads(wave(home, "events", run_id, "--json", env=env).stdout)
    types = [e["type"] for e in events]
    assert types[0] == "RunRequested" and "RunCompleted" in types
    assert [e["payload"]["attempt"] for e in events if e["type"] == "ChangeProposed"] == [1, 2]
    # Every action the run took was scored first, its verdict in the history before the action's result:
    # the two diffs, the two test runs (their command), the merge (no remote: nothing was pushed).
    verdicts = [(i, e["payload"]) for i, e in enumerate(events) if e["type"] == "ActionScored"]
    assert [v["action_kind"] for _, v in verdicts] == ["diff", "test_command", "diff", "test_command", "merge"]
    assert all(v["verdict"] == "allow" and v["policy_version"].startswith("rules-") for _, v in verdicts)
    results = {"diff": ("ChangeCommitted",), "test_command": ("TestsPassed", "TestsFailed"), "merge": ("Merged",)}
    for at, verdict in verdicts:
        following = [e["type"] for e in events[at + 1:]]
        assert any(t in results[verdict["action_kind"]] for t in following), verdict
    assert "pytest" in verdicts[1][1]["action"]["command"]
    assert verdicts[-1][1]["action"]["target"] == "main"

    replay = wave(home, "replay", run_id, env=env)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "replay matches the live projection" in replay.stdout
    return run_id


@pytest.mark.slow
def test_the_demo_delivers_the_story_embedded(tmp_path):
    demo = wave(tmp_path, "demo")
    _assert_merged_with_one_retry(tmp_path, demo)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.kafka
def test_the_demo_delivers_the_story_over_kafka_and_postgres(tmp_path, database_url, kafka_bootstrap):
    env = {"WAVE_DATABASE_URL": database_url, "WAVE_KAFKA_BOOTSTRAP": kafka_bootstrap}
    demo = wave(tmp_path, "demo", "--stack", env=env)
    logs = tmp_path / "demo" / "logs"
    if demo.returncode != 0:
        for log in sorted(logs.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
    base, _, _ = database_url.rpartition("/")
    _assert_merged_with_one_retry(tmp_path, demo, env={**env, "WAVE_DATABASE_URL": f"{base}/wave_demo"})
    assert {p.stem for p in logs.glob("*.log")} == {"relay", "planner", "gitops", "developer", "safety", "qa", "notifier"}


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.kafka
@pytest.mark.timeout(400)
async def test_a_human_approves_the_merge_through_wave_approve_over_kafka(tmp_path, pg_database_url, kafka_bootstrap):
    """Every service its own process; the run's merge policy asks a person, who answers with
    `wave approve`; the run then merges, `wave replay` finds no difference, and every event of the
    run, the decision included, is in one trace."""
    import uuid

    from wave_cli.bootstrap import FACTORIES
    from wave_cli.demo import Stack, demo_files, fresh_repository, scripted_models_file

    files = demo_files(ROOT / "examples")
    repo = fresh_repository(files.repo, tmp_path / "sample-repo")
    env = {
        "WAVE_DATABASE_URL": pg_database_url,
        "WAVE_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "WAVE_TOPIC_PREFIX": f"wave-e2e-{uuid.uuid4().hex[:8]}",
        "WAVE_MODELS_CONFIG": str(scripted_models_file(files.cassette, tmp_path)),
    }
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WAVE_")}
    environment.update(env, WAVE_HOME=str(tmp_path), WAVE_RETRY_BASE_S="0.2")
    stack = Stack(list(FACTORIES), environment, tmp_path / "logs")
    stack.start()
    try:
        submitted = wave(tmp_path, "run", f"@{files.story}", "--repo", str(repo), "--merge-policy", "human",
                         "--wait", "--timeout", "300", env=env)
        assert submitted.returncode == 3, submitted.stdout + submitted.stderr + _logs(tmp_path / "logs")
        run_id = _run_id(submitted.stdout)
        assert "✓ G5 tested" in submitted.stdout and "✓ G6 approved" not in submitted.stdout
        assert "RetryScheduled" in submitted.stdout
        assert f"wave approve {run_id} --decision approve|reject" in submitted.stdout

        approved = wave(tmp_path, "approve", run_id, "--decision", "approve", "--comment", "looks right",
                        "--wait", "--timeout", "300", env=env)
        assert approved.returncode == 0, approved.stdout + approved.stderr + _logs(tmp_path / "logs")
        assert "HumanDecisionRecorded" in approved.stdout
        assert "MergeApproved          by human" in approved.stdout
        assert "✓ G7 merged" in approved.stdout
    finally:
        stack.stop()

    main = pygit2.Repository(str(repo)).revparse_single("main")
    assert 'text.lower()).strip("-")' in (main.tree / "textkit" / "strings.py").data.decode()
    status = json.loads(wave(tmp_path, "status", run_id, "--json", env=env).stdout)
    assert status["status"] == "completed" and status["retries"] == 1
    ((escalation_id, decision, _by),) = status["decisions"]
    assert decision == "approve" and status["settled_escalations"][escalation_id]["kind"] == "merge_review"
    replay = wave(tmp_path, "replay", run_id, env=env)
    assert replay.returncode == 0 and "replay matches the live projection" in replay.stdout, replay.stdout
    # One run is one trace across the processes: the submission, every service, the person's decision.
    events = json.loads(wave(tmp_path, "events", run_id, "--json", env=env).stdout)
    assert all(e["traceparent"] for e in events), [e["type"] for e in events if not e["traceparent"]]
    assert len({e["traceparent"].split("-")[1] for e in events}) == 1


def _logs(directory: Path) -> str:
    return "".join(f"\n--- {log.name}\n{log.read_text(errors='replace')[-2000:]}" for log in sorted(directory.glob("*.log")))
