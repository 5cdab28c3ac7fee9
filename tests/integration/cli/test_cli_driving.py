"""`wave run`, `wave resume` and friends as a user types them: each drives its own run and no other, a
run interrupted with Ctrl-C (its sandbox taken down at once) or left behind goes on with `wave resume`
using the models it was submitted with, and a closed stdout does not stop a run."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pygit2
import pytest
import yaml

WAVE = [sys.executable, "-m", "wave_cli"]
# A sleep no other process on this machine is running: unique to this test process, since the same
# test run elsewhere (another checkout, another worker) would otherwise be taken for this one's sandbox.
MARKER_SECONDS = f"23.5{random.SystemRandom().randrange(10**9):09d}"


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAVE_", "ANTHROPIC_", "OPENAI_", "XAI_"))}
    env.update(WAVE_HOME=str(home), COLUMNS="200", WAVE_QA_SANDBOX="bubblewrap")
    return env


def wave(home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WAVE, *args], capture_output=True, text=True, env=environment(home), timeout=110, cwd=cwd)


def make_repo(path: Path, test_command: str) -> Path:
    (path / ".wave").mkdir(parents=True)
    (path / "README.md").write_text("a repository\n")
    (path / ".wave" / "qa.toml").write_text(f'command = "{test_command}"\n')
    repo = pygit2.init_repository(str(path), initial_head="main")
    repo.index.add_all()
    repo.index.write()
    author = pygit2.Signature("t", "t@example.invalid")
    repo.create_commit("refs/heads/main", author, author, "start", repo.index.write_tree(), [])
    return path


def make_cassette(path: Path) -> Path:
    plan = {"feasible": True, "summary": "add notes", "tasks": [{
        "task_id": "notes", "domain": "docs", "description": "Add NOTES.md",
        "acceptance_criteria": ["NOTES.md exists"], "files_of_interest": ["README.md"]}]}
    diff = ("Rationale: the notes file.\n```diff\ndiff --git a/NOTES.md b/NOTES.md\nnew file mode 100644\n"
            "index 0000000..3b18e51\n--- /dev/null\n+++ b/NOTES.md\n@@ -0,0 +1 @@\n+hello world\n```\n")
    usage = {"input_tokens": 10, "output_tokens": 5, "model": "claude-sonnet-4-5"}
    path.write_text(yaml.safe_dump({"version": 1, "interactions": [
        {"role": "planner", "repeat": True, "response": {"text": json.dumps(plan), **usage}},
        {"role": "developer", "repeat": True, "response": {"text": diff, **usage}},
    ]}))
    return path


def run_id_of(output: str) -> str:
    for line in output.splitlines():
        if line.startswith("run ") and ("submitted" in line or "resumed" in line):
            return line.split()[1]
    raise AssertionError(f"no run id in:\n{output}")


def sandboxed_sleeps() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"sleep" in argv[0] and MARKER_SECONDS.encode() in argv:
                found.append(int(entry.name))
    return found


def statuses(home: Path, cwd: Path) -> dict[str, str]:
    return {r["run_id"]: r["status"] for r in json.loads(wave(home, "runs", "--json", cwd=cwd).stdout)}


@pytest.mark.timeout(240)
def test_ctrl_c_takes_the_sandbox_down_and_the_run_resumes_in_a_later_command(tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    slow = make_repo(tmp_path / "slow", f"sleep {MARKER_SECONDS}")
    cassette = make_cassette(tmp_path / "cassette.yml")
    process = subprocess.Popen([*WAVE, "run", "add notes", "--repo", str(slow), "--cassette", str(cassette)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(home), cwd=work)
    try:
        deadline = time.monotonic() + 90
        while not sandboxed_sleeps():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the tests never started in the sandbox"
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        while sandboxed_sleeps() and time.monotonic() - interrupted < 5:
            time.sleep(0.05)
        assert not sandboxed_sleeps(), "the sandbox outlived Ctrl-C"
        assert time.monotonic() - interrupted <= 2.0
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 130, out + err
    run_id = run_id_of(out)
    assert f"wave resume {run_id}" in out
    assert statuses(home, work) == {run_id: "running"}

    # an unrelated run in the same home drives only itself and names the unfinished one
    quick = make_repo(tmp_path / "quick", "true")
    other = wave(home, "run", "add notes", "--repo", str(quick), "--cassette", str(cassette), cwd=work)
    assert other.returncode == 0, other.stdout + other.stderr
    assert f"1 other run is unfinished: wave resume {run_id}" in other.stdout
    assert statuses(home, work)[run_id] == "running"
    assert "NOTES.md" not in [e.name for e in pygit2.Repository(str(slow)).revparse_single("main").tree]

    # resumed from another directory, with no model variables: the run's own models answer
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    resumed = wave(home, "resume", run_id, cwd=elsewhere)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "offline: scripted model responses" in resumed.stdout
    assert statuses(home, work)[run_id] == "completed"
    main = pygit2.Repository(str(slow)).revparse_single("main")
    assert (main.tree / "NOTES.md").data == b"hello world\n"


def test_a_closed_stdout_does_not_stop_the_run(tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    repo = make_repo(tmp_path / "repo", "true")
    cassette = make_cassette(tmp_path / "cassette.yml")
    command = " ".join([*WAVE, "run", "'add notes'", "--repo", str(repo), "--cassette", str(cassette)])
    piped = subprocess.run(["bash", "-c", f"set -o pipefail; {command} | head -1"], capture_output=True, text=True,
                           env=environment(home), cwd=work, timeout=110)
    assert piped.returncode == 0, piped.stdout + piped.stderr
    assert piped.stdout.startswith("run ") and len(piped.stdout.splitlines()) == 1
    assert "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr
    assert list(statuses(home, work).values()) == ["completed"]
    main = pygit2.Repository(str(repo)).revparse_single("main")
    assert (main.tree / "NOTES.md").data == b"hello world\n"
