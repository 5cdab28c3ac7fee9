"""Slack's interactivity endpoint: the Approve/Reject buttons the notifier puts on an escalation
(`action_id` `wave_escalation_<option>`, `value` the escalation id) post here. A request counts only
with Slack's signature (`v0=` HMAC-SHA256 of `v0:{timestamp}:{body}` under WAVE_SLACK_SIGNING_SECRET)
and a timestamp at most five minutes old; the Slack user must be mapped to an approver in
WAVE_SLACK_APPROVERS, whose name the decision records."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from wave_app import commands
from wave_app.errors import AppError
from wave_events.envelope import RUN_ID_PATTERN, run_stream_id

from .app import api_line
from .models import Problem, SlackReply

MAX_AGE_S = 300
ACTION = re.compile(r"^wave_escalation_(?P<decision>approve|reject)$")

slack = APIRouter(tags=["slack"])
_log = logging.getLogger("wave_api.slack")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode("ascii", "replace") + b":" + body
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def check_signature(secret: str, timestamp: str | None, given: str | None, body: bytes, now: float) -> str | None:
    """Why the request is not Slack's, or None when it is."""
    if not timestamp or not given:
        return "missing X-Slack-Request-Timestamp or X-Slack-Signature"
    try:
        sent = int(timestamp)
    except ValueError:
        return "X-Slack-Request-Timestamp is not a number"
    if abs(now - sent) > MAX_AGE_S:
        return "the request is older than five minutes (or its clock is off)"
    if not hmac.compare_digest(signature(secret, timestamp, body), given.strip()):
        return "the signature does not match WAVE_SLACK_SIGNING_SECRET"
    return None


@dataclass(frozen=True)
class Press:
    user: str  # the Slack user id
    decision: str
    escalation_id: str
    response_url: str | None  # where Slack takes the answer shown to the user


def _action(body: bytes) -> Press:
    """What a button press of the notifier's escalation message asks."""
    try:
        payload: Any = json.loads(parse_qs(body.decode("utf-8"), strict_parsing=False)["payload"][0])
        user = payload["user"]["id"]
        action = payload["actions"][0]
        matched = ACTION.fullmatch(action["action_id"])
        escalation_id = action["value"]
        response_url = payload.get("response_url")
        if not (isinstance(response_url, str) and response_url.startswith(("https://", "http://"))):
            response_url = None
        if matched and isinstance(user, str) and isinstance(escalation_id, str) and escalation_id:
            return Press(user, matched["decision"], escalation_id, response_url)
    except (KeyError, IndexError, TypeError, ValueError, UnicodeDecodeError):
        pass
    raise HTTPException(400, "not a WAVE escalation button press (want payload with user, actions[0].action_id and value)")


async def _run_of(api: Any, escalation_id: str) -> str | None:
    """The run that asked: escalation ids start with their run's id (`<run>-<kind>-<key>`); the runs
    table confirms which prefix is a run waiting on it."""
    for run_id in await api.tables.run_ids_with_pending(escalation_id):
        if escalation_id.startswith(run_id + "-"):
            return run_id
    parts = escalation_id.split("-")
    for end in range(len(parts) - 1, 0, -1):
        candidate = "-".join(parts[:end])
        if RUN_ID_PATTERN.fullmatch(candidate) and await api.store.stream_version(run_stream_id(candidate)) > 0:
            return candidate
    return None


@slack.post(
    "/slack/actions", response_model=SlackReply, summary="Slack's interactivity endpoint (Approve/Reject buttons)",
    responses={400: {"model": Problem}, 401: {"model": Problem}, 404: {"model": Problem}, 413: {"model": Problem}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
        "schema": {"type": "object", "properties": {"payload": {"type": "string"}}, "required": ["payload"]}}}}},
)
async def slack_actions(request: Request) -> SlackReply:
    api = request.app.state.api
    secret = api.settings.slack_signing_secret
    if secret is None:
        raise HTTPException(404, "Slack actions are off: set WAVE_SLACK_SIGNING_SECRET")
    body = await request.body()
    if len(body) > 64 * 1024:
        raise HTTPException(413, "a Slack action is never this large")
    why = check_signature(secret.get_secret_value(), request.headers.get("x-slack-request-timestamp"),
                          request.headers.get("x-slack-signature"), body, time.time())
    if why is not None:
        raise HTTPException(401, f"not a request from Slack: {why}")
    press = _action(body)
    reply = await _decide(api, press)
    if press.response_url is not None:
        # Slack shows a button press's answer only through its response_url (the request is signed,
        # so the URL is Slack's); the HTTP answer must come within 3 s, so the post goes on meanwhile.
        task = asyncio.create_task(_respond(press.response_url, reply))
        _RESPONDING.add(task)
        task.add_done_callback(_RESPONDING.discard)
    return reply


async def _decide(api: Any, press: Press) -> SlackReply:
    approver = api.settings.approvers.get(press.user)
    if approver is None:
        return SlackReply(text=f"You are not a WAVE approver (Slack user {press.user} is not in "
                               "WAVE_SLACK_APPROVERS); nothing was recorded.")
    run_id = await _run_of(api, press.escalation_id)
    if run_id is None:
        return SlackReply(text=f"No run waits on escalation {press.escalation_id}; nothing was recorded.")
    try:
        await commands.record_decision(api.store, run_id, actor=f"{approver} (slack {press.user})",
                                       decision=press.decision, escalation_id=press.escalation_id,
                                       producer=commands.API_PRODUCER)
    except AppError as exc:
        return SlackReply(text=f"Not recorded: {api_line(exc)}")
    return SlackReply(response_type="in_channel",
                      text=f"{approver} chose {press.decision} on {press.escalation_id} (run {run_id}).")


_RESPONDING: set[asyncio.Task[None]] = set()


async def _respond(url: str, reply: SlackReply) -> None:
    def post() -> None:
        request = urllib.request.Request(url, data=reply.model_dump_json().encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            answer.read()

    try:
        await asyncio.to_thread(post)
    except (OSError, ValueError) as exc:
        _log.warning("the answer to a Slack button press could not be posted: %s", exc)
