"""Dead letters on Kafka: the DLQ topic holds each dead-lettered record with the error in headers."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from ..deadletters import DeadLetter, DeadLetters
from .records import message_of
from .topics import WORK_EVENT_TYPES, Topics, idempotent_producer, read_topic

DLQ_ERROR_LIMIT = 4000  # characters of the error kept in the `dlq-error` header


def dead_letter_headers(
    consumer: str, error_type: str, error: str, attempts: int, dead_at: datetime
) -> list[tuple[str, bytes]]:
    """The headers a dead letter adds to the original record's: who gave up on it, why, when."""
    return [
        ("dlq-consumer", consumer.encode()),
        ("dlq-error-type", error_type.encode()),
        ("dlq-error", error[:DLQ_ERROR_LIMIT].encode()),
        ("dlq-attempts", str(attempts).encode()),
        ("dlq-dead-at", dead_at.isoformat().encode()),
    ]


class KafkaDeadLetters(DeadLetters):
    """Dead letters on `wave.events.dlq.v1`: the original record with the error in headers. A re-drive
    republishes the record to the events topic and leaves a marker on the DLQ topic; a letter whose
    event was handled after all gets a marker of its own (`dlq-handled`) and is not republished."""

    def __init__(self, bootstrap: str, topics: Topics, producer: AIOKafkaProducer | None = None) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self._producer = producer

    async def _send(self, topic: str, value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]]) -> None:
        if self._producer is not None:
            await self._producer.send_and_wait(topic, value, key=key, headers=headers)
            return
        producer = idempotent_producer(self.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
        finally:
            await producer.stop()

    async def add(self, consumer, envelope, raw, error_type, error, attempts) -> None:
        if envelope is not None:
            key, value, headers = message_of(envelope)
        else:
            key, value, headers = None, raw or b"", []
        headers = [*headers, *dead_letter_headers(consumer, error_type, error, attempts, datetime.now(UTC))]
        await self._send(self.topics.dlq, value, key, headers)

    async def _records(self):
        return await read_topic(self.bootstrap, self.topics.dlq)

    async def _letters(self) -> list[tuple[DeadLetter, object]]:
        records = await self._records()
        redriven = set()
        handled = set()
        letters = []
        for record in records:
            headers = {k: v.decode() for k, v in record.headers}
            if "dlq-redriven" in headers:
                redriven.add(headers["dlq-redriven"])
                continue
            if "dlq-handled" in headers:
                handled.add(headers["dlq-handled"])
                continue
            letter = DeadLetter(
                consumer=headers.get("dlq-consumer", ""),
                event_id=headers.get("event-id", ""),
                event_type=headers.get("event-type", ""),
                stream_id=f"run-{record.key.decode()}" if record.key else "",
                error_type=headers.get("dlq-error-type", ""),
                error=headers.get("dlq-error", ""),
                attempts=int(headers.get("dlq-attempts", "0")),
                dead_at=headers.get("dlq-dead-at", ""),
            )
            letters.append((letter, record))
        marked = []
        for letter, record in letters:
            name = _marker(letter, record)
            settled = {"redriven": name in redriven, "handled": name in handled}
            marked.append((DeadLetter(**{**letter.__dict__, **settled}), record))
        return marked

    async def list(self, consumer: str | None = None) -> list[DeadLetter]:
        return [d for d, _ in await self._letters() if consumer in (None, d.consumer)]

    async def redrive(self, consumer: str | None = None, event_id: str | None = None) -> int:
        count = 0
        for letter, record in await self._letters():
            if not letter.pending or consumer not in (None, letter.consumer) or event_id not in (None, letter.event_id):
                continue
            if not letter.event_id:
                continue  # undecodable bytes cannot be handled again as they are
            original = [(k, v) for k, v in record.headers if not k.startswith("dlq-")]
            # A work request goes back to the work topic, whose consumers are the ones that take it.
            work = dict(original).get("event-type", b"").decode() in WORK_EVENT_TYPES
            await self._send(self.topics.work if work else self.topics.events, record.value, record.key,
                             [*original, ("redriven", b"1")])
            await self._send(self.topics.dlq, None, record.key, [("dlq-redriven", _marker(letter, record).encode())])
            count += 1
        return count

    async def mark_handled(self, consumer: str, event_id: str) -> int:
        count = 0
        for letter, record in await self._letters():
            if letter.pending and (letter.consumer, letter.event_id) == (consumer, event_id):
                await self._send(self.topics.dlq, None, record.key, [("dlq-handled", _marker(letter, record).encode())])
                count += 1
        return count


def _marker(letter: DeadLetter, record) -> str:
    """What a marker on the DLQ topic names: one letter, by its consumer, event and offset."""
    return f"{letter.consumer}/{letter.event_id}/{record.offset}"


__all__ = ["DLQ_ERROR_LIMIT", "KafkaDeadLetters", "dead_letter_headers"]
