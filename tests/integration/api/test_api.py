"""The HTTP API over a real SQLite store: what each role may do, what a person sees of runs, and how
bad requests are refused (one line, a 4xx, nothing stored)."""

from __future__ import annotations

import asyncio

import pytest
from api_server import api_harness, escalated_run
from gitops_repos import make_repo
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from wave_app import commands
from wave_events import catalogue as ev
from wave_events.envelope import new_envelope
from wave_runtime.tracing import configure_tracing


@pytest.fixture
async def api(tmp_path):
    async with api_harness(tmp_path / "wave.db") as harness:
        yield harness


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    make_repo(path)
    return path


async def listed(api, **params) -> dict:
    await api.app.state.api.projector.catch_up()
    response = await api.client.get("/api/v1/runs", params=params, headers=api.auth("viewer"))
    assert response.status_code == 200, response.text
    return response.json()


# --- who may do what -----------------------------------------------------------------------------

ENDPOINTS = [
    ("GET", "/api/v1/runs", None, "viewer"),
    ("GET", "/api/v1/runs/{run}", None, "viewer"),
    ("GET", "/api/v1/runs/{run}/events", None, "viewer"),
    ("GET", "/api/v1/runs/{run}/replay", None, "viewer"),
    ("GET", "/api/v1/whoami", None, "viewer"),
    ("POST", "/api/v1/runs", {"story": "x", "repo": "{repo}"}, "approver"),
    ("POST", "/api/v1/runs/{run}/decisions", {"decision": "reject"}, "approver"),
    ("POST", "/api/v1/runs/{run}/budget", {"usd": 9, "force": True}, "approver"),
    ("POST", "/api/v1/runs/{run}/cancel", {"reason": "no"}, "approver"),
    ("GET", "/api/v1/tokens", None, "admin"),
    ("POST", "/api/v1/tokens", {"name": "new-one", "role": "viewer"}, "admin"),
    ("DELETE", "/api/v1/tokens/viewer2", None, "admin"),
]
RANK = {"viewer": 0, "approver": 1, "admin": 2}


@pytest.mark.parametrize(("method", "path", "body", "needed"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
@pytest.mark.parametrize("who", ["nobody", "forged", "viewer", "approver", "admin"])
async def test_each_role_may_do_what_it_allows_and_no_more(api, repo, method, path, body, needed, who):
    from wave_app import access

    await access.create_token(api.tables, name="viewer2", role="viewer")
    run_id = await escalated_run(api.store, repo)
    url = path.format(run=run_id)
    json_body = {k: (v.format(repo=repo) if isinstance(v, str) else v) for k, v in body.items()} if body else None
    headers = {"nobody": {}, "forged": {"Authorization": "Bearer wave_forged"}}.get(who)
    if headers is None:
        headers = api.auth(who)
    response = await api.client.request(method, url, json=json_body, headers=headers)
    if who in ("nobody", "forged"):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    elif RANK[who] < RANK[needed]:
        assert response.status_code == 403
        assert needed in response.json()["detail"]
    else:
        assert response.status_code in (200, 201, 204), response.text


async def test_a_decision_names_the_token_and_its_role(api, repo):
    run_id = await escalated_run(api.store, repo)
    response = await api.client.post(f"/api/v1/runs/{run_id}/decisions", headers=api.auth("approver"),
                                     json={"decision": "approve", "comment": "looks fine"})
    assert response.status_code == 200, response.text
    assert response.json()["decided_by"] == "approver (approver)"
    events = (await api.client.get(f"/api/v1/runs/{run_id}/events", headers=api.auth("viewer"),
                                   params={"types": "HumanDecisionRecorded"})).json()["events"]
    assert [e["payload"]["decided_by"] for e in events] == ["approver (approver)"]
    assert events[0]["payload"]["comment"] == "looks fine"


async def test_a_decision_over_http_joins_the_trace_of_its_run(api, repo):
    exporter = InMemorySpanExporter()
    configure_tracing("wave-tests", exporter)
    run_id = await escalated_run(api.store, repo)
    response = await api.client.post(f"/api/v1/runs/{run_id}/decisions", headers=api.auth("approver"),
                                     json={"decision": "approve"})
    assert response.status_code == 200, response.text
    events = (await api.client.get(f"/api/v1/runs/{run_id}/events", headers=api.auth("viewer"))).json()["events"]
    assert [e["type"] for e in events] == ["RunRequested", "EscalationRequested", "HumanDecisionRecorded"]
    _, run_trace, submitted_by, _ = events[0]["traceparent"].split("-")
    _, decision_trace, decided_by, _ = events[2]["traceparent"].split("-")
    assert decision_trace == run_trace  # the decision, days later maybe, is in the run's one trace

    trace.get_tracer_provider().force_flush()
    spans = {f"{s.context.span_id:016x}": s for s in exporter.get_finished_spans()}
    root, decision = spans[submitted_by], spans[decided_by]
    assert (root.name, root.parent) == ("wave run", None)
    assert decision.parent.span_id == root.context.span_id
    assert decision.attributes["wave.actor"] == "approver (approver)"


async def test_racing_decisions_record_exactly_one(api, repo):
    run_id = await escalated_run(api.store, repo)
    responses = await asyncio.gather(*(
        api.client.post(f"/api/v1/runs/{run_id}/decisions", headers=api.auth("approver"),
                        json={"escalation_id": "e1", "decision": "approve" if i % 2 else "reject"})
        for i in range(8)
    ))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 7
    state = (await api.client.get(f"/api/v1/runs/{run_id}", headers=api.auth("viewer"))).json()
    assert len(state["decisions"]) == 1
    assert all("already answered" in r.json()["detail"] or "not waiting" in r.json()["detail"]
               for r in responses if r.status_code == 409)


# --- runs ----------------------------------------------------------------------------------------


async def test_a_story_submitted_over_http_is_listed_with_its_title_and_state(api, repo):
    response = await api.client.post("/api/v1/runs", headers=api.auth("approver"),
                                     json={"story": "Add slugify\nwith details", "repo": str(repo), "budget_usd": 2})
    assert response.status_code == 201, response.text
    run_id = response.json()["run_id"]
    state = (await api.client.get(f"/api/v1/runs/{run_id}", headers=api.auth("viewer"))).json()
    assert state["status"] == "running" and state["budget_limit_usd"] == 2
    page = await listed(api)
    assert [(r["run_id"], r["title"], r["repo"], r["status"]) for r in page["runs"]] == [
        (run_id, "Add slugify", str(repo), "running")
    ]
    assert page["runs"][0]["gates"]["G0 planned"] is False


async def test_the_runs_table_follows_new_events_without_being_asked(api, repo):
    run_id = await escalated_run(api.store, repo)
    for _ in range(200):
        response = await api.client.get("/api/v1/runs", params={"status": "awaiting_human"}, headers=api.auth("viewer"))
        if response.json()["runs"]:
            break
        await asyncio.sleep(0.02)
    [row] = response.json()["runs"]
    assert row["run_id"] == run_id
    assert row["pending_escalations"] == [{"escalation_id": "e1", "kind": "unsafe_action", "reason": "why",
                                           "options": ["approve", "reject"]}]


async def test_runs_are_paged_newest_first_and_filtered(api, repo):
    made = [await commands.submit_run(api.store, actor="ana", story=f"Story {i}", repo=str(repo)) for i in range(5)]
    first = await listed(api, limit=2)
    assert [r["run_id"] for r in first["runs"]] == made[::-1][:2]
    second = await listed(api, limit=2, cursor=first["next_cursor"])
    third = await listed(api, limit=2, cursor=second["next_cursor"])
    assert [r["run_id"] for r in second["runs"] + third["runs"]] == made[::-1][2:]
    assert third["next_cursor"] is None
    assert [r["run_id"] for r in (await listed(api, q="story 3"))["runs"]] == [made[3]]
    assert (await listed(api, status="completed"))["runs"] == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "detail"),
    [
        ("POST", "/api/v1/runs", {"story": "x", "repo": "/nonexistent/repo"}, 400, "no such directory"),
        ("POST", "/api/v1/runs", {"story": "   ", "repo": "{repo}"}, 400, "the story is empty"),
        ("POST", "/api/v1/runs", {"story": "x", "repo": "{repo}", "budget_usd": -1}, 422, "budget_usd"),
        ("POST", "/api/v1/runs", {"story": "x", "repo": "{repo}", "surprise": 1}, 422, "surprise"),
        ("POST", "/api/v1/runs", {"story": "x", "repo": "{repo}", "target_branch": "nope"}, 400, "no such branch"),
        ("GET", "/api/v1/runs/nosuchrun", None, 404, "no run nosuchrun"),
        ("GET", "/api/v1/runs/bad%20id", None, 400, "is not a run id"),
        ("GET", "/api/v1/runs?cursor=zzz", None, 400, "cursor"),
        ("POST", "/api/v1/runs/nosuchrun/cancel", {}, 404, "no run"),
        ("POST", "/api/v1/runs/{run}/decisions", {"decision": "maybe"}, 422, "decision"),
        ("POST", "/api/v1/runs/{run}/decisions", {"decision": "approve", "escalation_id": "x"}, 404, "no pending escalation x"),
        ("POST", "/api/v1/runs/{run}/budget", {}, 400, "give usd and/or tokens"),
        ("POST", "/api/v1/runs/{run}/budget", {"usd": 3}, 409, "not stopped for budget"),
    ],
)
async def test_bad_requests_get_a_four_hundred_with_one_line(api, repo, method, path, body, status, detail):
    run_id = await escalated_run(api.store, repo)
    before = await api.store.last_position()
    if body:
        body = {k: (v.format(repo=repo) if isinstance(v, str) else v) for k, v in body.items()}
    response = await api.client.request(method, path.format(run=run_id), json=body, headers=api.auth("admin"))
    assert response.status_code == status, response.text
    line = response.json()["detail"]
    assert isinstance(line, str) and "\n" not in line and detail in line
    assert await api.store.last_position() == before


async def test_the_replay_check_of_a_run(api, repo):
    run_id = await escalated_run(api.store, repo)
    result = (await api.client.get(f"/api/v1/runs/{run_id}/replay", headers=api.auth("viewer"))).json()
    assert result["consistent"] is True and result["events"] == 2


async def test_cancel_and_budget_record_who_asked(api, repo):
    run_id = await escalated_run(api.store, repo)
    budget = await api.client.post(f"/api/v1/runs/{run_id}/budget", headers=api.auth("approver"),
                                   json={"usd": 9.5, "force": True})
    assert budget.json()["raised_by"] == "approver (approver)" and budget.json()["limit_usd"] == 9.5
    cancelled = await api.client.post(f"/api/v1/runs/{run_id}/cancel", headers=api.auth("admin"), json={"reason": "enough"})
    assert cancelled.status_code == 200 and cancelled.json()["cancelled_by"] == "admin (admin)"
    again = await api.client.post(f"/api/v1/runs/{run_id}/cancel", headers=api.auth("admin"), json={})
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]


# --- tokens, sessions, slowing down --------------------------------------------------------------


async def test_an_admin_makes_and_revokes_tokens_and_no_listing_shows_a_secret(api):
    made = await api.client.post("/api/v1/tokens", headers=api.auth("admin"), json={"name": "bo", "role": "approver"})
    assert made.status_code == 201
    secret = made.json()["token"]
    me = await api.client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
    assert me.json() == {"name": "bo", "role": "approver"}
    listing = await api.client.get("/api/v1/tokens", headers=api.auth("admin"))
    assert "bo" in [t["name"] for t in listing.json()["tokens"]]
    assert secret not in listing.text and "digest" not in listing.text
    twice = await api.client.post("/api/v1/tokens", headers=api.auth("admin"), json={"name": "bo", "role": "viewer"})
    assert twice.status_code == 409
    assert (await api.client.delete("/api/v1/tokens/bo", headers=api.auth("admin"))).status_code == 204
    assert (await api.client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})).status_code == 401
    assert (await api.client.delete("/api/v1/tokens/bo", headers=api.auth("admin"))).status_code == 404


async def test_a_browser_session_needs_its_csrf_token_to_change_anything(api, repo):
    run_id = await escalated_run(api.store, repo)
    signed = await api.client.post("/api/v1/session", json={"token": api.tokens["approver"]})
    assert signed.status_code == 200
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert api.tokens["approver"] not in signed.text and api.tokens["approver"] not in cookie
    csrf = signed.json()["csrf_token"]
    assert signed.json()["name"] == "approver"
    assert (await api.client.get(f"/api/v1/runs/{run_id}")).status_code == 200  # the cookie alone reads
    refused = await api.client.post(f"/api/v1/runs/{run_id}/decisions", json={"decision": "approve"})
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    wrong = await api.client.post(f"/api/v1/runs/{run_id}/decisions", json={"decision": "approve"},
                                  headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    done = await api.client.post(f"/api/v1/runs/{run_id}/decisions", json={"decision": "approve"},
                                 headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200 and done.json()["decided_by"] == "approver (approver)"
    assert (await api.client.delete("/api/v1/session")).status_code == 204
    api.client.cookies.clear()
    api.client.cookies.set("wave_session", cookie.split(";")[0].split("=", 1)[1])
    assert (await api.client.get(f"/api/v1/runs/{run_id}")).status_code == 401


async def test_repeated_bad_tokens_from_one_address_are_slowed_down(api, tmp_path):
    for _ in range(5):
        assert (await api.client.get("/api/v1/runs", headers={"Authorization": "Bearer nope"})).status_code == 401
    slowed = await api.client.get("/api/v1/runs", headers=api.auth("viewer"))
    assert slowed.status_code == 429
    assert 1 <= int(slowed.headers["retry-after"]) <= 60
    signing_in = await api.client.post("/api/v1/session", json={"token": api.tokens["viewer"]})
    assert signing_in.status_code == 429
    import httpx

    elsewhere = httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app, client=("10.0.0.9", 1)), base_url="http://x")
    async with elsewhere:
        assert (await elsewhere.get("/api/v1/runs", headers=api.auth("viewer"))).status_code == 200


async def test_cors_is_closed_unless_origins_are_configured(tmp_path):
    preflight = {"Origin": "https://portal.example", "Access-Control-Request-Method": "POST"}
    async with api_harness(tmp_path / "a.db") as closed:
        response = await closed.client.options("/api/v1/runs", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    async with api_harness(tmp_path / "b.db", {"WAVE_API_CORS_ORIGINS": "https://portal.example"}) as open_:
        response = await open_.client.options("/api/v1/runs", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://portal.example"


async def test_health_readiness_and_metrics(api):
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    assert (await api.client.get("/readyz")).json() == {"status": "ready"}
    await api.client.get("/api/v1/runs", headers=api.auth("viewer"))
    metrics = await api.client.get("/metrics")
    assert 'wave_api_requests_total{method="GET",route="/api/v1/runs",status="200"}' in metrics.text


async def test_what_people_do_through_the_api_is_recorded_as_the_api_with_the_person_as_actor(api, repo):
    submitted = await api.client.post("/api/v1/runs", headers=api.auth("approver"),
                                      json={"story": "Add slugify", "repo": str(repo)})
    run_id = submitted.json()["run_id"]
    stream = f"run-{run_id}"
    question = ev.EscalationRequested(escalation_id="e1", kind="unsafe_action", reason="why", options=("approve", "reject"))
    await api.store.append(stream, [new_envelope(stream, question, producer="safety")], 1)
    await api.client.post(f"/api/v1/runs/{run_id}/budget", headers=api.auth("approver"), json={"usd": 9.5, "force": True})
    await api.client.post(f"/api/v1/runs/{run_id}/decisions", headers=api.auth("approver"), json={"decision": "approve"})
    await api.client.post(f"/api/v1/runs/{run_id}/cancel", headers=api.auth("admin"), json={"reason": "enough"})
    events = await api.store.read_stream(stream)
    people = [e for e in events if e.producer != "safety"]
    assert [(e.type, e.producer) for e in people] == [
        ("RunRequested", "api"), ("BudgetRaised", "api"), ("HumanDecisionRecorded", "api"), ("RunCancelled", "api")]
    assert [people[0].payload.requested_by, people[1].payload.raised_by, people[2].payload.decided_by,
            people[3].payload.cancelled_by] == ["approver (approver)"] * 3 + ["admin (admin)"]


async def test_refusals_through_the_api_name_its_fields_and_endpoints_never_command_line_options(api, repo):
    run_id = await escalated_run(api.store, repo)
    stream = f"run-{run_id}"
    budget_stop = ev.EscalationRequested(escalation_id="e2", kind="budget", reason="spent", options=("approve", "reject"))
    await api.store.append(stream, [new_envelope(stream, budget_stop, producer="planner")], 2)

    which = await api.client.post(f"/api/v1/runs/{run_id}/decisions", headers=api.auth("approver"), json={"decision": "approve"})
    approving = await api.client.post(f"/api/v1/runs/{run_id}/decisions", headers=api.auth("approver"),
                                      json={"decision": "approve", "escalation_id": "e2"})
    unknown = await api.client.post(f"/api/v1/runs/{run_id}/decisions", headers=api.auth("approver"),
                                    json={"decision": "approve", "escalation_id": "e9"})
    branch = await api.client.post("/api/v1/runs", headers=api.auth("approver"),
                                   json={"story": "x", "repo": str(repo), "target_branch": "nope"})
    unforced = await api.client.post(f"/api/v1/runs/{run_id}/budget", headers=api.auth("approver"), json={"usd": 1})
    assert which.status_code == 400 and which.json()["detail"] == (
        f'run {run_id} waits for 2 decisions; name one in "escalation_id" (e1, e2)')
    assert approving.status_code == 400 and approving.json()["detail"] == (
        f"escalation e2 asks for more budget; raise it with POST /api/v1/runs/{run_id}/budget, or reject it to stop the run")
    assert unknown.status_code == 404 and f"GET /api/v1/runs/{run_id} lists them" in unknown.json()["detail"]
    assert branch.status_code == 400 and branch.json()["detail"].startswith("target_branch nope: no such branch")
    assert unforced.status_code == 200  # stopped for budget: a top-up needs no force
    for refused in (which, approving, unknown, branch):
        assert "--" not in refused.json()["detail"] and "wave " not in refused.json()["detail"]

    other = await escalated_run(api.store, repo)  # waiting on an unsafe action, not on its budget
    running = await api.client.post(f"/api/v1/runs/{other}/budget", headers=api.auth("approver"), json={"usd": 2})
    assert running.status_code == 409 and running.json()["detail"] == (
        f'run {other} is awaiting_human, not stopped for budget; send "force": true to change its budget anyway')
