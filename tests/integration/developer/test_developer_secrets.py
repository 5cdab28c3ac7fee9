"""The developer proposes its diff exactly as written, and withholds a diff holding a real secret: the
proposal names the file, line and kind, the store never sees the key, and safety blocks it."""

from __future__ import annotations

from pathlib import Path

from developer_runs import (
    answer,
    make_repo,
    of_type,
    plan_created,
    requested,
    scripted_client,
    workspace_ready,
    write_cassette,
)
from secret_samples import anthropic_key
from wave_developer import DeveloperService, GitCheckouts
from wave_events import catalogue as c
from wave_events import encode_payload
from wave_events.envelope import new_envelope
from wave_safety import SafetyService


def _diff_adding(line: str) -> str:
    return f"--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,3 @@\n def price(amount):\n+{line}\n     return amount\n"


async def _propose(tmp_path: Path, diff: str) -> list:
    origin = tmp_path / "origin"
    _, base = make_repo(origin)
    cassette = write_cassette(tmp_path / "cassette.yml", answer(diff))
    service = DeveloperService(scripted_client(cassette, tmp_path), GitCheckouts(tmp_path / "scratch"))
    stream = requested(repo=str(origin))
    stream.add(plan_created("t1", files=("app.py",)))
    step = stream.add(workspace_ready(base, location=str(origin)))
    return list(await service.handle(step.state, step.event))


async def test_a_diff_holding_a_real_key_is_withheld_and_blocked_without_the_key_stored(tmp_path: Path) -> None:
    key = anthropic_key(3)
    outputs = await _propose(tmp_path, _diff_adding(f'    API_KEY = "{key}"'))
    [proposed] = of_type(outputs, c.ChangeProposed)
    assert proposed.diff == ""
    assert proposed.withheld == (c.WithheldSecret(path="app.py", line=2, kind="anthropic-key"),)
    for output in outputs:
        assert key[13:] not in encode_payload(output), type(output).__name__

    [scored] = await SafetyService().handle(None, _envelope(proposed))  # type: ignore[arg-type]
    assert scored.verdict == "block"
    assert [(v.rule, v.principle) for v in scored.violations] == [("diff.secret", "never_expose_secrets")]
    assert "app.py:2" in scored.violations[0].detail and key[13:] not in scored.violations[0].detail


async def test_a_diff_with_placeholder_tokens_is_proposed_and_scored_as_written(tmp_path: Path) -> None:
    line = '    assert auth_header("placeholder-token-1234") == "Bearer placeholder-token-1234"'
    outputs = await _propose(tmp_path, _diff_adding(line))
    [proposed] = of_type(outputs, c.ChangeProposed)
    assert f"+{line}\n" in proposed.diff and proposed.withheld == ()
    [scored] = await SafetyService().handle(None, _envelope(proposed))  # type: ignore[arg-type]
    assert scored.verdict == "allow"


def _envelope(payload):
    return new_envelope("run-r1", payload, producer="developer")
