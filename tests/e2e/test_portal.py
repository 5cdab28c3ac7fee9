"""The web portal as a person uses it, in Debian's Chromium driven by Playwright: sign in with a token,
see a submitted story appear in the run list, watch its gates pass live on the run page, reload in the
middle and lose or repeat no event, approve the merge review from the page and see the merge.

With WAVE_SCREENSHOTS=DIR the run list, the run page and the dashboard are saved there as PNGs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pygit2
import pytest
from wave_cli.demo import demo_files, fresh_repository

WAVE = [sys.executable, "-m", "wave_cli"]
ROOT = Path(__file__).resolve().parents[2]
GATES = ("G0 planned", "G1 workspace", "G2 implemented", "G3 safe", "G4 committed", "G5 tested", "G6 approved", "G7 merged")


def _environment(home: Path, cassette: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WAVE_", "ANTHROPIC_", "OPENAI_", "XAI_"))}
    environment.update(WAVE_HOME=str(home), COLUMNS="200", PYTHONUNBUFFERED="1", WAVE_RETRY_BASE_S="0.2",
                       WAVE_SCRIPTED_CASSETTE=str(cassette))
    return environment


def _call(base: str, token: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base}/api/v1{path}", data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def served(tmp_path: Path):
    files = demo_files(ROOT / "examples")
    repo = fresh_repository(files.repo, tmp_path / "sample-repo")
    home = tmp_path / "home"
    environment = _environment(home, files.cassette)
    made = subprocess.run([*WAVE, "token", "create", "--role", "approver", "--name", "ana"], capture_output=True,
                          text=True, env=environment, timeout=60)
    assert made.returncode == 0, made.stderr
    server = subprocess.Popen([*WAVE, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=environment, cwd=tmp_path)
    try:
        line = server.stdout.readline()
        assert "WAVE API on http://127.0.0.1:" in line, line + (server.stderr.read() if server.poll() is not None else "")
        base = line.split(" on ", 1)[1].split("/api/v1", 1)[0]
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "wave serve never became ready"
                time.sleep(0.2)
        yield {"base": base, "token": made.stdout.strip(), "repo": repo, "story": files.story.read_text()}
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "the portal's tests need Debian's chromium (deploy/local/setup.sh installs it)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def _shot(page, name: str) -> None:
    folder = os.environ.get("WAVE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


def _timeline_positions(page) -> list[int]:
    return [int(p) for p in page.eval_on_selector_all("#timeline li", "items => items.map(i => i.dataset.position)")]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_person_signs_in_watches_a_run_live_and_approves_its_merge(served, browser):
    from playwright.sync_api import expect

    base, token = served["base"], served["token"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    expect.set_options(timeout=60_000)

    page.goto(f"{base}/portal/")
    expect(page).to_have_url(f"{base}/portal/sign-in?next=%2Fportal%2F")
    page.get_by_label("Token").fill("wave_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("no such token")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_have_text("ana (approver)")
    expect(page.locator("#caption")).to_have_text("No runs match.")
    expect(page.locator("#live")).to_have_text("live")

    run_id = _call(base, token, "/runs", {"story": served["story"], "repo": str(served["repo"]),
                                          "merge_policy": "human"})["run_id"]
    row = page.locator(f'tr[data-run="{run_id}"]')
    expect(row).to_be_visible()  # the list follows the log: no reload
    page.get_by_label("Search").fill(run_id[:8])
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#runs tr")).to_have_count(1)
    row.get_by_role("link", name=run_id).click()
    expect(page).to_have_url(f"{base}/portal/runs/{run_id}")

    gate = page.locator(".gates .gate")
    expect(page.locator('.gate.passed[data-gate="G0 planned"]')).to_be_visible()
    page.reload()  # mid-run: the page reads the run's stream again from its start
    for name in GATES[1:6]:
        expect(page.locator(f'.gate.passed[data-gate="{name}"]')).to_be_visible()
    expect(gate).to_have_count(8)
    waiting = page.locator('.waiting[data-kind="merge_review"]')
    expect(waiting).to_be_visible()
    expect(waiting).to_contain_text("since")
    expect(page.locator("#status")).to_have_text("awaiting_human")

    stored = _call(base, token, f"/runs/{run_id}/events")["events"]
    expect(page.locator("#timeline li")).to_have_count(len(stored))
    assert _timeline_positions(page) == [e["global_position"] for e in stored]  # none lost, none repeated

    # What a person reviews: both attempts' diffs, the failing test with its output, verdicts, model calls.
    expect(page.locator('[data-attempt="1/1"], [data-attempt$="/1"]').first.locator("pre[aria-label=diff]")).to_contain_text("def slugify")
    failing = [e["payload"] for e in stored if e["type"] == "TestsFailed"][0]["failing_tests"][0]
    expect(page.locator("ul.failing").first).to_contain_text(failing)
    expect(page.locator("pre[aria-label='test output']").first).not_to_be_empty()
    expect(page.get_by_text("Safety verdict: allow").first).to_be_visible()
    calls = [e for e in stored if e["type"] == "LLMCallRecorded"]
    expect(page.locator("#calls tr")).to_have_count(len(calls))
    expect(page.locator("#calls tr").first).to_contain_text(calls[0]["payload"]["role"])
    _shot(page, "run")

    waiting.get_by_label("Comment").fill("<b>looks right</b>")
    waiting.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("approve recorded by ana (approver)")
    expect(page.locator('.gate.passed[data-gate="G7 merged"]')).to_be_visible()
    expect(page.locator("#status")).to_have_text("completed")
    expect(page.locator("#timeline").get_by_text("approve by ana (approver): <b>looks right</b>")).to_be_visible()
    assert page.locator("#timeline b").count() == 0  # event data is text, never markup

    repo = pygit2.Repository(str(served["repo"]))
    state = _call(base, token, f"/runs/{run_id}")
    assert state["merge_commit"] == str(repo.revparse_single("main").id)

    page.get_by_role("link", name="Replay and history").click()
    page.get_by_role("button", name="Check replay").click()
    expect(page.locator("#result [role=status]")).to_contain_text("Consistent")
    page.get_by_label("Event type").select_option("TestsFailed")
    expect(page.locator("#history tbody tr")).to_have_count(1)

    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator('tr[data-service="planner"]')).to_be_visible()
    expect(page.locator("#models tr").first).to_contain_text("scripted")
    _shot(page, "dashboard")

    page.get_by_role("link", name="Runs").click()
    expect(page.locator(f'tr[data-run="{run_id}"] .status')).to_have_text("completed")
    _shot(page, "runs")
