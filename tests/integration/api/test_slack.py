"""Slack's Approve/Reject buttons: only correctly signed, fresh requests from a mapped approver record
a decision, in that approver's name."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlencode

import pytest
from api_server import api_harness
from gitops_repos import make_repo
from notifier_fake_slack import FakeSlack
from wave_api.slack import signature
from wave_events.escalations import escalation_id

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ENV = {"WAVE_SLACK_SIGNING_SECRET": SECRET, "WAVE_SLACK_APPROVERS": "U123=ana, U456=bo"}


@pytest.fixture
async def api(tmp_path):
    async with api_harness(tmp_path / "wave.db", ENV) as harness:
        yield harness


@pytest.fixture
def repo(tmp_path):
    make_repo(tmp_path / "repo")
    return tmp_path / "repo"


def press(user: str, option: str, escalation: str, response_url: str | None = None) -> bytes:
    """The form Slack posts when a button of the notifier's escalation message is pressed."""
    payload = {"type": "block_actions", "user": {"id": user},
               "actions": [{"action_id": f"wave_escalation_{option}", "value": escalation}]}
    if response_url:
        payload["response_url"] = response_url
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed(body: bytes, *, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature(secret, timestamp, body),
            "Content-Type": "application/x-www-form-urlencoded"}


async def asked(api, repo) -> tuple[str, str]:
    from wave_app import commands

    run_id = await commands.submit_run(api.store, actor="ana", story="x", repo=str(repo))
    question = escalation_id(run_id, "unsafe_action", "abc")
    await escalated_run_at(api.store, run_id, question)
    return run_id, question


async def escalated_run_at(store, run_id: str, question: str) -> None:
    from wave_events import catalogue as ev
    from wave_events.envelope import new_envelope

    stream = f"run-{run_id}"
    event = ev.EscalationRequested(escalation_id=question, kind="unsafe_action", reason="why", options=("approve", "reject"))
    await store.append(stream, [new_envelope(stream, event, producer="test")], 1)


async def decisions(api, run_id: str) -> list[tuple[str, str, str]]:
    state = (await api.client.get(f"/api/v1/runs/{run_id}", headers=api.auth("viewer"))).json()
    return [tuple(d) for d in state["decisions"]]


async def test_a_signed_press_by_a_mapped_approver_records_the_decision(api, repo):
    run_id, question = await asked(api, repo)
    body = press("U456", "reject", question)
    response = await api.client.post("/slack/actions", content=body, headers=signed(body))
    assert response.status_code == 200, response.text
    assert "bo chose reject" in response.json()["text"]
    assert await decisions(api, run_id) == [(question, "reject", "bo (slack U456)")]


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        ("wrong secret", "does not match"),
        ("changed body", "does not match"),
        ("stale", "older than five minutes"),
        ("unsigned", "missing"),
    ],
)
async def test_a_press_not_signed_by_slack_records_nothing(api, repo, tamper, why):
    run_id, question = await asked(api, repo)
    body = press("U123", "approve", question)
    headers = {
        "wrong secret": lambda: signed(body, secret="not-the-secret"),
        "changed body": lambda: signed(press("U123", "reject", question)),
        "stale": lambda: signed(body, at=time.time() - 301),
        "unsigned": lambda: {"Content-Type": "application/x-www-form-urlencoded"},
    }[tamper]()
    response = await api.client.post("/slack/actions", content=body, headers=headers)
    assert response.status_code == 401 and why in response.json()["detail"]
    assert await decisions(api, run_id) == []


async def test_an_unmapped_slack_user_is_refused_with_an_ephemeral_message(api, repo):
    run_id, question = await asked(api, repo)
    slack = FakeSlack().start()
    try:
        body = press("U999", "approve", question, response_url=slack.hook_url("all"))
        response = await api.client.post("/slack/actions", content=body, headers=signed(body))
        assert response.status_code == 200
        for _ in range(250):
            if slack.received("hooks/all"):
                break
            await asyncio.sleep(0.02)
        [shown] = slack.received("hooks/all")
    finally:
        slack.stop()
    assert shown.body["response_type"] == "ephemeral"
    assert "not a WAVE approver" in shown.body["text"]
    assert response.json() == shown.body
    assert await decisions(api, run_id) == []


async def test_a_second_press_says_it_was_decided_already(api, repo):
    run_id, question = await asked(api, repo)
    for user in ("U123", "U456"):
        body = press(user, "approve", question)
        response = await api.client.post("/slack/actions", content=body, headers=signed(body))
    assert "already answered: approve by ana (slack U123)" in response.json()["text"]
    assert await decisions(api, run_id) == [(question, "approve", "ana (slack U123)")]


async def test_slack_actions_are_off_without_a_signing_secret(tmp_path):
    async with api_harness(tmp_path / "off.db") as api:
        body = press("U123", "approve", "x")
        response = await api.client.post("/slack/actions", content=body, headers=signed(body))
        assert response.status_code == 404 and "WAVE_SLACK_SIGNING_SECRET" in response.json()["detail"]
