"""The peer: the eventsourcing library's PostgreSQL application recorder, driven the way WAVE's store is.

It stores the same payload bytes WAVE stores. Its writes take an EXCLUSIVE lock on the events table
(its default configuration), which, like WAVE's append lock, keeps positions in commit order.
"""

from __future__ import annotations

import threading
import time
import uuid
from urllib.parse import unquote, urlsplit

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

NAME = "eventsourcing 9 PostgresApplicationRecorder"


class PeerStore:
    def __init__(self, url: str, pool_size: int) -> None:
        parts = urlsplit(url)
        self.datastore = PostgresDatastore(
            dbname=parts.path.lstrip("/"),
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            pool_size=pool_size,
        )
        self.recorder = PostgresApplicationRecorder(self.datastore)
        self.recorder.create_table()

    def close(self) -> None:
        self.datastore.close()

    def insert_batches(self, batches: list[list[StoredEvent]]) -> float:
        """Insert each batch with one `insert_events` call; seconds taken."""
        started = time.perf_counter()
        for stored in batches:
            self.recorder.insert_events(stored)
        return time.perf_counter() - started

    def insert_concurrently(self, streams: list[list[StoredEvent]]) -> float:
        """One thread per stream, each inserting its events one call at a time; seconds until all finish."""
        start = threading.Barrier(len(streams) + 1)
        failures: list[BaseException] = []

        def write(events: list[StoredEvent]) -> None:
            start.wait()
            try:
                for event in events:
                    self.recorder.insert_events([event])
            except BaseException as exc:  # reported to the caller below, not lost in the thread
                failures.append(exc)

        threads = [threading.Thread(target=write, args=(events,)) for events in streams]
        for thread in threads:
            thread.start()
        start.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        if failures:
            raise RuntimeError(
                f"{len(failures)} peer writer(s) failed; first: {failures[0]!r}"
            ) from failures[0]
        return elapsed

    def read_all(self, page: int) -> tuple[int, float]:
        """Page through the whole notification log; (events read, seconds)."""
        count, after = 0, 0
        started = time.perf_counter()
        while True:
            notifications = self.recorder.select_notifications(after, page, inclusive_of_start=False)
            if not notifications:
                break
            count += len(notifications)
            after = notifications[-1].id
        return count, time.perf_counter() - started


def stored_event(originator: uuid.UUID, version: int, topic: str, state: bytes) -> StoredEvent:
    return StoredEvent(originator_id=originator, originator_version=version, topic=topic, state=state)
