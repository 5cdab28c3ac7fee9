"""The dead-letter port: where an event goes when a service cannot handle it, and how it comes back.

Distributed mode uses the Kafka topic wave.events.dlq.v1 (see kafka/deadletters.py); embedded mode
keeps dead letters in a JSON-lines file beside the embedded store. Re-driving puts an event in front of the
service again; handling stays idempotent, so a re-driven event that was handled meanwhile is a no-op.
A letter whose event the service did handle after all (delivered again after the letter was written)
is marked handled instead (`wave dlq redrive` checks first), so it no longer waits to be re-driven.
"""

from __future__ import annotations

import abc
import json
import os
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from wave_events import Envelope


@dataclass(frozen=True)
class DeadLetter:
    consumer: str
    event_id: str
    event_type: str
    stream_id: str
    error_type: str
    error: str
    attempts: int
    dead_at: str
    redriven: bool = False
    handled: bool = False  # the service handled the event after all: settled without a re-drive

    @property
    def pending(self) -> bool:
        """Still waiting to be re-driven."""
        return not self.redriven and not self.handled


class DeadLetters(abc.ABC):
    @abc.abstractmethod
    async def add(self, consumer: str, envelope: Envelope | None, raw: bytes | None, error_type: str, error: str, attempts: int) -> None: ...

    @abc.abstractmethod
    async def list(self, consumer: str | None = None) -> list[DeadLetter]: ...

    @abc.abstractmethod
    async def redrive(self, consumer: str | None = None, event_id: str | None = None) -> int:
        """Send matching pending dead letters back to their consumers; returns how many."""

    @abc.abstractmethod
    async def mark_handled(self, consumer: str, event_id: str) -> int:
        """Mark `consumer`'s pending letters of `event_id` as handled, without sending them back: the
        consumer handled the event after all. Returns how many."""


class FileDeadLetters(DeadLetters):
    """Embedded mode: `dead-letters.jsonl` holds the letters, the embedded runtime takes re-drives."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    async def add(self, consumer, envelope, raw, error_type, error, attempts) -> None:
        letter = DeadLetter(
            consumer=consumer,
            event_id=str(envelope.event_id) if envelope else "",
            event_type=envelope.type if envelope else "",
            stream_id=envelope.stream_id if envelope else "",
            error_type=error_type,
            error=error[:4000],
            attempts=attempts,
            dead_at=datetime.now(UTC).isoformat(),
        )
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(asdict(letter)) + "\n")
                f.flush()
                os.fsync(f.fileno())

    async def list(self, consumer: str | None = None) -> list[DeadLetter]:
        return [d for d in self._read() if consumer is None or d.consumer == consumer]

    async def redrive(self, consumer: str | None = None, event_id: str | None = None) -> int:
        with self._lock:
            letters = self._read()
            chosen = 0
            updated = []
            for d in letters:
                # A record that never decoded into an event (no id) is listed, but has nothing to re-drive.
                if d.event_id and d.pending and consumer in (None, d.consumer) and event_id in (None, d.event_id):
                    d = DeadLetter(**{**asdict(d), "redriven": True})
                    chosen += 1
                    self._request(d)
                updated.append(d)
            self._write(updated)
        return chosen

    async def mark_handled(self, consumer: str, event_id: str) -> int:
        with self._lock:
            letters = self._read()
            marked = [d for d in letters if d.pending and (d.consumer, d.event_id) == (consumer, event_id)]
            if marked:
                self._write([DeadLetter(**{**asdict(d), "handled": True}) if d in marked else d for d in letters])
        return len(marked)

    def take_redrives(self, consumer: str, stream_id: str | None = None) -> list[str]:
        """Event ids re-driven for `consumer` since the last call (the embedded runtime handles them);
        with `stream_id`, only those of that stream (the others stay for a runtime driving theirs)."""
        requests = self.path.with_suffix(".redrive.jsonl")
        with self._lock:
            if not requests.exists():
                return []
            lines = [json.loads(line) for line in requests.read_text().splitlines() if line.strip()]
            taken = [r for r in lines if r["consumer"] == consumer and stream_id in (None, r.get("stream_id"))]
            mine = [r["event_id"] for r in taken]
            rest = [r for r in lines if r not in taken]
            requests.write_text("".join(json.dumps(r) + "\n" for r in rest))
        return mine

    def pending_redrives(self, consumer: str, stream_id: str | None = None) -> int:
        """How many re-drives for `consumer` (of `stream_id`, when given) the embedded runtime has not taken yet."""
        requests = self.path.with_suffix(".redrive.jsonl")
        with self._lock:
            if not requests.exists():
                return 0
            lines = [json.loads(line) for line in requests.read_text().splitlines() if line.strip()]
            return sum(1 for r in lines if r["consumer"] == consumer and stream_id in (None, r.get("stream_id")))

    def _request(self, letter: DeadLetter) -> None:
        with self.path.with_suffix(".redrive.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps({"consumer": letter.consumer, "event_id": letter.event_id, "stream_id": letter.stream_id}) + "\n")

    def _read(self) -> list[DeadLetter]:
        if not self.path.exists():
            return []
        return [DeadLetter(**json.loads(line)) for line in self.path.read_text().splitlines() if line.strip()]

    def _write(self, letters: list[DeadLetter]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(asdict(d)) + "\n" for d in letters))
        os.replace(tmp, self.path)
