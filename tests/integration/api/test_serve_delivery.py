"""`wave serve` embedded: a story submitted over HTTP is carried through every gate by the services
the same process runs, with the server's own models (here: the sample story's cassette), and its
events arrive on the run's event stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from wave_cli.demo import demo_files, fresh_repository, scripted_models_file

WAVE = [sys.executable, "-m", "wave_cli"]
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_story_submitted_over_http_is_merged_by_the_services_of_wave_serve(tmp_path):
    files = demo_files(EXAMPLES)
    repo = fresh_repository(files.repo, tmp_path / "sample-repo")
    home = tmp_path / "home"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WAVE_", "ANTHROPIC_", "OPENAI_", "XAI_"))}
    environment.update(WAVE_HOME=str(home), PYTHONUNBUFFERED="1", WAVE_RETRY_BASE_S="0.05", WAVE_RETRY_CAP_S="0.2",
                       WAVE_MODELS_CONFIG=str(scripted_models_file(files.cassette, home)))
    made = subprocess.run([*WAVE, "token", "create", "--role", "approver", "--name", "ana"],
                          capture_output=True, text=True, env=environment, timeout=60)
    auth = {"Authorization": f"Bearer {made.stdout.strip()}"}
    server = subprocess.Popen([*WAVE, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=environment)
    try:
        line = server.stdout.readline()
        assert "WAVE API on http://" in line, line
        base = line.split(" on ", 1)[1].split(" ", 1)[0]  # …/api/v1
        with httpx.Client(base_url=base, headers=auth, timeout=30) as client:
            submitted = client.post("/runs", json={"story": files.story.read_text(encoding="utf-8"), "repo": str(repo),
                                                   "budget_usd": 1.0})
            assert submitted.status_code == 201, submitted.text
            run_id = submitted.json()["run_id"]
            seen = []
            with client.stream("GET", f"/runs/{run_id}/stream", timeout=httpx.Timeout(30, read=240)) as stream:
                for text in stream.iter_lines():
                    if text.startswith("event: "):
                        seen.append(text.removeprefix("event: "))
                        if seen[-1] in ("RunCompleted", "RunFailed", "RunBlocked", "EscalationRequested"):
                            break
            assert seen[0] == "RunRequested" and seen[-1] == "RunCompleted", seen
            state = client.get(f"/runs/{run_id}").json()
            assert state["status"] == "completed" and state["merge_commit"]
            deadline = time.monotonic() + 10
            while (row := client.get("/runs", params={"q": run_id}).json()["runs"])[0]["status"] != "completed":
                assert time.monotonic() < deadline, row
                time.sleep(0.1)
            assert all(row[0]["gates"].values())
        log = subprocess.run(["git", "-C", str(repo), "log", "--format=%s", "main"], capture_output=True, text=True)
        assert len(log.stdout.splitlines()) == 2  # the sample's first commit and the run's squashed one
    finally:
        server.terminate()
        server.wait(timeout=30)
    events = json.loads(subprocess.run([*WAVE, "events", run_id, "--json"], capture_output=True, text=True,
                                       env=environment, timeout=60).stdout)
    assert events[0]["payload"]["requested_by"] == "ana (approver)"
