"""Guarantee 6: a poison message goes to the dead-letter topic with its error, the service keeps
going, and after the fix a re-drive brings it back and it is handled.

Two poisons reach service A: an input its handler fails on (a bug, fixed by restarting A with
WAVE_FAULT_FIXED=1) and a record of undecodable bytes. An operator sees the poisoned run as stalled
in `wave status` and `wave runs`, the letters with `wave dlq list`, and brings the fixed one back with
`wave dlq redrive`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest
from aiokafka import AIOKafkaProducer
from fault_flow import OUTPUT, SERVICE_A, feed, outcome, request_run, wait_for_count
from fault_procs import until
from wave_events import run_stream_id
from wave_runtime.kafka import KafkaDeadLetters

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

GARBAGE = b"\xff\xfe not an event {"


async def _publish_garbage(bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, GARBAGE, key=b"garbage", headers=[("event-type", b"RunRequested")])
    finally:
        await producer.stop()


def _wave(deployment, topics, kafka_bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WAVE_")}
    environment.update(
        COLUMNS="250", WAVE_DATABASE_URL=deployment.database_url, WAVE_KAFKA_BOOTSTRAP=kafka_bootstrap, WAVE_TOPIC_PREFIX=topics.prefix,
    )
    return subprocess.run(
        [sys.executable, "-m", "wave_cli", *args], capture_output=True, text=True, env=environment, timeout=120,
    )


async def test_a_poison_message_is_dead_lettered_and_redriven(deployment, store, topics, kafka_bootstrap, figures):
    pool = store.pool
    deployment.relay().start()
    a = deployment.service("fault_flow:create_a").start()
    deployment.service("fault_flow:create_b").start()
    dead_letters = KafkaDeadLetters(kafka_bootstrap, topics)

    before = await feed(store, 20, seconds=0.5)
    poisoned = await request_run(store, "poison pill: the handler has a bug for this one")
    await _publish_garbage(kafka_bootstrap, topics.events)
    after = await feed(store, 20, seconds=0.5)  # behind the poisons, on the same partitions
    healthy = before + after

    async def dead_for_a():
        letters = await dead_letters.list(SERVICE_A)
        return letters if len(letters) >= 2 else None

    letters = await until(dead_for_a, 60, interval=0.3)
    await wait_for_count(pool, OUTPUT, len(healthy), timeout=60)
    by_kind = {("poison" if d.event_id else "garbage"): d for d in letters}
    assert set(by_kind) == {"poison", "garbage"} and len(letters) == 2
    poison = by_kind["poison"]
    assert (poison.event_type, poison.error_type, poison.stream_id) == ("RunRequested", "ValueError", run_stream_id(poisoned))
    assert "poisoned input" in poison.error and poison.attempts >= 1 and not poison.redriven
    assert by_kind["garbage"].error_type == "MalformedEventError" and "not valid JSON" in by_kind["garbage"].error
    # Nothing handled; the run only notes that its request was abandoned, and why.
    assert [e.type for e in await store.read_stream(run_stream_id(poisoned))] == ["RunRequested", "HandlingAbandoned"]
    assert (await outcome(pool, healthy)).lost == 0  # the service kept handling the rest
    assert a.alive
    # The operator sees the run stalled, why, and the command that resumes it.
    shown = await asyncio.to_thread(_wave, deployment, topics, kafka_bootstrap, "status", poisoned)
    assert shown.returncode == 0, shown.stderr
    assert f"run {poisoned}: stalled" in shown.stdout
    assert f"stalled: {SERVICE_A} gave up on RunRequested {poison.event_id}" in shown.stdout
    assert "poisoned input" in shown.stdout
    assert f"wave dlq redrive --event {poison.event_id}" in shown.stdout
    listed_runs = await asyncio.to_thread(_wave, deployment, topics, kafka_bootstrap, "runs", "--json")
    assert {r["run_id"]: r["status"] for r in json.loads(listed_runs.stdout)}[poisoned] == "stalled"
    table = await asyncio.to_thread(_wave, deployment, topics, kafka_bootstrap, "runs")
    assert any(poisoned in line and "stalled" in line for line in table.stdout.splitlines()), table.stdout

    # The fix: a new release of A (here: the same code with the flag that fixes the bug).
    await asyncio.to_thread(a.stop)
    a.start(WAVE_FAULT_FIXED="1")
    listed = await asyncio.to_thread(_wave, deployment, topics, kafka_bootstrap, "dlq", "list", "--service", SERVICE_A, "--json")
    assert listed.returncode == 0, listed.stderr
    assert sorted(d["error_type"] for d in json.loads(listed.stdout)) == ["MalformedEventError", "ValueError"]
    redriven_at = time.monotonic()
    redrive = await asyncio.to_thread(_wave, deployment, topics, kafka_bootstrap, "dlq", "redrive", "--service", SERVICE_A)
    assert redrive.returncode == 0, redrive.stderr
    assert redrive.stdout.strip() == "re-drove 1 dead letter(s)"  # the undecodable record cannot be handled as it is
    await wait_for_count(pool, OUTPUT, len(healthy) + 1, timeout=60)
    recovery = time.monotonic() - redriven_at

    assert [e.type for e in await store.read_stream(run_stream_id(poisoned))] == [
        "RunRequested", "HandlingAbandoned", "DeadLetterRedriven", "WorkspaceReady", OUTPUT
    ]
    shown = await asyncio.to_thread(_wave, deployment, topics, kafka_bootstrap, "status", poisoned)
    assert f"run {poisoned}: completed" in shown.stdout and "stalled" not in shown.stdout
    after_redrive = {("poison" if d.event_id else "garbage"): d for d in await dead_letters.list(SERVICE_A)}
    assert after_redrive["poison"].redriven and not after_redrive["garbage"].redriven
    again = await asyncio.to_thread(_wave, deployment, topics, kafka_bootstrap, "dlq", "redrive", "--service", SERVICE_A)
    assert again.stdout.strip() == "nothing to re-drive"  # a re-drive is done once
    result = await outcome(pool, [*healthy, poisoned])
    figures.report(
        inputs=len(healthy) + 2, dead_lettered=len(letters), redriven=1, lost=result.lost,
        duplicates_applied=result.duplicates_applied, redrive_to_handled_s=recovery,
    )  # fmt: skip
    assert result.lost == 0 and result.duplicates_applied == 0
