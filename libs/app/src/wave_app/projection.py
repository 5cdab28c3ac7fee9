"""The runs read model: one row per run (status, title, repository, gates, cost, retries, pending
escalations) kept in the store's `wave_runs` table by a projector that follows the store's global
order from its saved position, the way a service keeps its progress. Listing runs then reads rows
instead of folding every run's events; the table can always be rebuilt from the log."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from wave_events import Envelope, UndecodableEventError
from wave_events.projections import RunState, fold
from wave_store import EventStore
from wave_store.tables import ApiTables, RunRow

from .queries import _parsed_time

POSITION_NAME = "subscription:projection-runs"
BATCH = 500
TITLE_LENGTH = 120

_log = logging.getLogger(__name__)


def story_title(story: str) -> str:
    """The first non-blank line of a story, shortened for a listing."""
    line = next((line.strip() for line in story.splitlines() if line.strip()), "")
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1] + "…"


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def run_row(run_id: str, state: RunState, last_event_at: str) -> RunRow:
    pending = [
        {"escalation_id": e.escalation_id, "kind": e.kind, "reason": e.reason, "options": list(e.options)}
        for e in state.pending_escalations.values()
    ]
    return RunRow(
        run_id=run_id,
        status=state.status,
        title=story_title(state.story),
        repo=state.repo,
        target_branch=state.target_branch,
        gates=json.dumps(state.gates),
        cost_usd=state.budget_used_usd,
        tokens_used=state.budget_used_tokens,
        retries=state.retries,
        pending=json.dumps(pending),
        error=None,
        last_event_at=last_event_at,
        version=state.version,
    )


async def project_run(store: EventStore, run_id: str) -> RunRow | None:
    """The row of one run as its stream now stands (None: no such stream). A run with an event that
    cannot be decoded gets an `unreadable` row naming it, never hiding the other runs."""
    stream_id = f"run-{run_id}"
    try:
        events = await store.read_stream(stream_id)
    except UndecodableEventError as exc:
        stored = await store.read_stream_raw(stream_id)
        return RunRow(
            run_id=run_id, status="unreadable", title="", repo="", target_branch="", gates="{}",
            cost_usd=0.0, tokens_used=0, retries=0, pending="[]",
            error=f"event {exc.event_id} ({exc.event_type} v{exc.event_version}) cannot be decoded: {exc.reason}",
            last_event_at=_utc_text(_parsed_time(stored[-1].occurred_at)), version=len(stored),
        )
    if not events:
        return None
    return row_of_events(run_id, events)


def row_of_events(run_id: str, events: Sequence[Envelope]) -> RunRow:
    """The row of a run from its whole stream, in order (at least one event)."""
    return run_row(run_id, fold(events), _utc_text(events[-1].occurred_at))


class RunsProjector:
    """Follows the store's global order from `POSITION_NAME` and upserts the row of every run an event
    touched. Each row is computed from its run's whole stream, so applying a batch twice (a crash
    between the rows and the saved position) gives the same rows."""

    def __init__(self, store: EventStore, tables: ApiTables) -> None:
        self.store, self.tables = store, tables
        self.position = 0

    async def catch_up(self) -> int:
        """Project everything stored so far; returns the position reached."""
        self.position = await self.store.load_position(POSITION_NAME)
        while batch := await self.store.read_all(self.position, BATCH):
            await self._apply(e.stream_id for e in batch)
            self.position = batch[-1].global_position or self.position
            await self.store.save_position(POSITION_NAME, self.position)
        return self.position

    async def _apply(self, stream_ids: Iterable[str]) -> None:
        rows = []
        for stream_id in dict.fromkeys(stream_ids):
            if stream_id.startswith("run-") and (row := await project_run(self.store, stream_id.removeprefix("run-"))):
                rows.append(row)
        await self.tables.upsert_runs(rows)

    async def follow(self, stop: asyncio.Event, wait_s: float = 15.0) -> None:
        """Keep the table current until `stop` is set, woken by the store's append notifications."""
        while not stop.is_set():
            try:
                await self.catch_up()
            except Exception:  # noqa: BLE001 - a lost connection must not end the projection for good
                _log.exception("the runs projection failed; trying again")
                await asyncio.sleep(1.0)
                continue
            waiting = asyncio.ensure_future(self.store.wait_for_append(self.position, wait_s))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            for task in (waiting, stopping):
                task.cancel()

    async def rebuild(self) -> int:
        """Empty the table and project the whole log again."""
        await self.tables.clear_runs()
        await self.store.save_position(POSITION_NAME, 0)
        return await self.catch_up()
