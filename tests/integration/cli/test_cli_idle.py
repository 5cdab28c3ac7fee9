"""`wave run` following a run that waits for a retry timer sleeps: it costs (next to) no CPU, so the
threads doing real work meanwhile (QA's clean-up, a sandbox) are not starved of the interpreter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from waiting_runtime import CpuUse, bystanders, request_run
from wave_cli.follow import RunFollower, drive_embedded
from wave_cli.snapshots import Snapshots
from wave_events import catalogue as c
from wave_runtime import FileDeadLetters, ScheduleTimer
from wave_store.sqlite import SqliteEventStore


class Retrier:
    """Answers the run request with a retry 60 s away, the way the developer schedules one."""

    name = "retrier"
    handles = frozenset({"RunRequested"})

    async def handle(self, state, event):
        due = datetime.now(UTC) + timedelta(seconds=60)
        return [
            c.RetryScheduled(retry=1, due_at=due, delay_s=60, reason="tests failed", timer_id="retry-1"),
            ScheduleTimer("retry-1", due, c.RunCancelled(cancelled_by="timer")),
        ]


async def test_following_a_run_that_waits_on_a_retry_uses_almost_no_cpu(tmp_path):
    store = SqliteEventStore(tmp_path / "wave.db")
    try:
        run_id = await request_run(store)
        shown = []
        follower = RunFollower(store, run_id, shown.append, Snapshots(tmp_path / "projections"))
        services = [Retrier(), *bystanders()]

        with CpuUse() as used:
            outcome = await drive_embedded(store, services, FileDeadLetters(tmp_path / "dead.jsonl"), follower, timeout_s=4)

        assert outcome.reason == "timeout"
        assert "retry-1" in outcome.state.pending_timers
        assert used.share < 0.05, f"following a waiting run used {used.share:.1%} of a core"
    finally:
        await store.close()
