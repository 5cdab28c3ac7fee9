"""The notifier service end to end: run events in, Slack messages out through the real slack_sdk
clients and the fake Slack, NotificationSent recorded, nothing posted twice."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from notifier_fake_slack import FakeSlack
from notifier_runs import plan, propose, requested, score
from run_streams import RunStream, sha
from wave_events import catalogue as c
from wave_events.projections import GATES
from wave_notifier import Channels, NotifierService, SlackConfig, WebhookSender, create_service
from wave_runtime import Dispatcher, TransientError
from wave_store.sqlite import SqliteEventStore

CHANNELS = {"C0NEWS00001": "ci-news", "C0PAGER0001": "pager", "C0MONEY0001": "money"}
CONFIGURED = Channels(updates="#ci-news", alerts="C0PAGER0001", budget="#money")


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    server = FakeSlack(channels=dict(CHANNELS)).start()
    yield server
    server.stop()


def bot_service(fake: FakeSlack) -> NotifierService:
    """A fresh process: a new service with a new client and nothing remembered."""
    config = SlackConfig(
        channels=CONFIGURED, bot_token=fake.token, api_url=fake.api_url, retry_backoff_s=0.01
    )
    return create_service(config=config)


def headers(fake: FakeSlack, channel_id: str) -> list[str]:
    return [m.blocks[0]["text"]["text"] for m in fake.messages_in(channel_id)]


async def test_a_whole_run_is_posted_to_the_configured_channels_by_severity(fake: FakeSlack) -> None:
    service = bot_service(fake)
    stream = requested("r7")
    plan(stream)
    stream.add(c.WorkspaceReady(branch="wave/r7", base_commit=sha(1), location="/srv/app.git"))
    proposal = propose(stream, "t1")
    score(stream, proposal, "escalate", 0.5, "ci-file-touched")
    stream.add(
        c.EscalationRequested(
            escalation_id="esc-1",
            kind="unsafe_action",
            reason="edits .github/",
            subject_event_id=proposal.event.event_id,
        )
    )
    stream.add(c.HumanDecisionRecorded(escalation_id="esc-1", decision="approve", decided_by="bo"))
    stream.add(
        c.BudgetThresholdCrossed(percent=75, used_usd=1.5, limit_usd=2.0, used_tokens=10, limit_tokens=100)
    )
    stream.add(c.ChangeCommitted(task_id="t1", attempt=1, commit=sha(2), parent=sha(1), branch="wave/r7"))
    stream.add(c.TestsPassed(commit=sha(2), counts=c.TestCounts(passed=3), duration_s=1, sandbox="bwrap"))
    stream.add(c.MergeApproved(approver="policy", reviewer="auto"))
    stream.add(c.Merged(target_branch="main", merge_commit=sha(3), fast_forward=True))
    stream.add(c.RunCompleted(merge_commit=sha(3)))
    for step in stream.steps:
        if step.event.type in service.handles:
            await service.handle(step.state, step.event)

    gates = [GATES[i] for i in (0, 1, 2, 4, 5, 6, 7)]  # G3 passed by a human decision, not by a verdict
    assert headers(fake, "C0NEWS00001") == [
        "🚀 Run r7 started",
        *[f"✅ Run r7: gate {g} passed" for g in gates],
        "🎉 Run r7 completed",
    ]
    assert headers(fake, "C0PAGER0001") == [
        "✋ Run r7: an action needs approval",
        "⚠️ Run r7: a decision is needed",
    ]
    assert headers(fake, "C0MONEY0001") == ["💸 Run r7: 75% of the budget used"]


async def test_each_message_is_recorded_as_notification_sent(fake: FakeSlack) -> None:
    step = requested().add(c.RunFailed(reason="retries exhausted"))
    outputs = await bot_service(fake).handle(step.state, step.event)
    (update,) = fake.messages_in("C0NEWS00001")
    (alert,) = fake.messages_in("C0PAGER0001")
    assert [(o.channel, o.source_event_id, o.message_ts) for o in outputs] == [
        ("#ci-news", step.event.event_id, update.ts),
        ("C0PAGER0001", step.event.event_id, alert.ts),
    ]
    assert [o.idempotency_key for o in outputs] == [
        f"wave:{step.event.event_id}:#ci-news",
        f"wave:{step.event.event_id}:C0PAGER0001",
    ]
    assert update.metadata["event_payload"]["idempotency_key"] == outputs[0].idempotency_key
    assert "retries exhausted" in alert.text


async def test_the_same_event_handled_twice_posts_once(fake: FakeSlack) -> None:
    service = bot_service(fake)
    step = requested().steps[0]
    first = await service.handle(step.state, step.event)
    second = await service.handle(step.state, step.event)
    assert second == first
    assert len(fake.messages_in("C0NEWS00001")) == 1


async def test_after_a_crash_a_new_process_finds_the_message_instead_of_posting_it_again(
    fake: FakeSlack,
) -> None:
    step = requested().add(c.EscalationRequested(escalation_id="esc-9", kind="budget", reason="top up?"))
    before_crash = await bot_service(fake).handle(step.state, step.event)
    after_restart = await bot_service(fake).handle(step.state, step.event)
    assert (
        after_restart == before_crash
    )  # same NotificationSent, same ts: the runtime stores identical outputs
    assert len(fake.messages_in("C0PAGER0001")) == 1
    assert len(fake.received("chat.postMessage")) == 1


async def test_a_half_done_event_is_finished_without_repeating_what_was_posted(fake: FakeSlack) -> None:
    step = requested().add(c.RunFailed(reason="tests keep failing"))
    fake.fail_next(3, 500, path="chat.postMessage", channel="C0PAGER0001")
    with pytest.raises(TransientError):
        await bot_service(fake).handle(step.state, step.event)
    assert len(fake.messages_in("C0NEWS00001")) == 1 and fake.messages_in("C0PAGER0001") == []
    outputs = await bot_service(fake).handle(step.state, step.event)
    assert len(fake.messages_in("C0NEWS00001")) == 1 and len(fake.messages_in("C0PAGER0001")) == 1
    assert [o.channel for o in outputs] == ["#ci-news", "C0PAGER0001"]


async def test_webhooks_route_by_channel_and_one_webhook_gets_one_message_per_event(fake: FakeSlack) -> None:
    step = requested().add(c.RunFailed(reason="sandbox refused to start"))
    routed = NotifierService(
        WebhookSender(fake.hook_url("all"), {"#wave-alerts": fake.hook_url("alerts")}, backoff_s=0.01)
    )
    await routed.handle(step.state, step.event)
    assert len(fake.messages_in("all")) == 1 and len(fake.messages_in("alerts")) == 1

    single = NotifierService(WebhookSender(fake.hook_url("updates"), backoff_s=0.01))
    outputs = await single.handle(step.state, step.event)
    await single.handle(step.state, step.event)  # a retry in the same process
    assert len(fake.messages_in("updates")) == 1
    assert [(o.channel, o.message_ts) for o in outputs] == [("#wave-updates", None)]


# --- through the runtime's dispatcher and a real (SQLite) event store -------------------------------


async def _store_run(store: SqliteEventStore, stream: RunStream) -> None:
    await store.append(stream.stream_id, [s.event for s in stream.steps], expected_version=0)


async def _sent(store: SqliteEventStore, stream_id: str) -> list[c.NotificationSent]:
    return [e.payload for e in await store.read_stream(stream_id) if e.type == "NotificationSent"]


async def test_through_the_runtime_a_redelivery_and_a_crash_each_post_once(
    fake: FakeSlack, tmp_path: Path
) -> None:
    store = SqliteEventStore(tmp_path / "wave.db")
    try:
        stream = requested(f"r{uuid.uuid4().hex[:8]}")
        failed = stream.add(c.RunFailed(reason="merge conflict"))
        await _store_run(store, stream)
        started = stream.steps[0].event

        dispatcher = Dispatcher(bot_service(fake), store)
        assert await dispatcher.dispatch(started) == "handled"
        assert await dispatcher.dispatch(started) == "duplicate"  # redelivered after its outputs were stored

        # A process posts for RunFailed, then dies before the runtime stores its NotificationSent.
        await bot_service(fake).handle(failed.state, failed.event)
        assert await Dispatcher(bot_service(fake), store).dispatch(failed.event) == "handled"

        assert len(fake.messages_in("C0NEWS00001")) == 2 and len(fake.messages_in("C0PAGER0001")) == 1
        sent = await _sent(store, stream.stream_id)
        assert [(s.channel, s.source_event_id) for s in sent] == [
            ("#ci-news", started.event_id),
            ("#ci-news", failed.event.event_id),
            ("C0PAGER0001", failed.event.event_id),
        ]
        assert {s.message_ts for s in sent} == {m.ts for m in fake.messages}
    finally:
        await store.close()


async def test_an_unconfigured_notifier_ignores_every_event(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "wave.db")
    try:
        stream = requested("quiet")
        await _store_run(store, stream)
        service = create_service({})
        assert await Dispatcher(service, store).dispatch(stream.steps[0].event) == "ignored"
        assert await _sent(store, stream.stream_id) == []
    finally:
        await store.close()
