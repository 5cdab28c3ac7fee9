"""The DeadLetters contract (tests/support/deadletters_contract.py) on each adapter: the JSON-lines
file of embedded mode and the Kafka dead-letter topic of distributed mode."""

from __future__ import annotations

import uuid

import pytest
from deadletters_contract import DeadLettersContract
from wave_runtime import FileDeadLetters
from wave_runtime.kafka import KafkaDeadLetters, Topics, ensure_topics, read_topic


class TestFileDeadLetters(DeadLettersContract):
    @pytest.fixture
    def dead_letters(self, tmp_path) -> FileDeadLetters:
        return FileDeadLetters(tmp_path / "dead-letters.jsonl")

    @pytest.fixture
    def sent_back(self, dead_letters: FileDeadLetters):
        """The embedded runtime takes each consumer's re-drives from the file: collect what it would take."""
        taken: dict[str, list[str]] = {}

        async def event_ids(consumer: str) -> list[str]:
            taken.setdefault(consumer, []).extend(dead_letters.take_redrives(consumer))
            return list(taken[consumer])

        return event_ids


@pytest.mark.kafka
class TestKafkaDeadLetters(DeadLettersContract):
    @pytest.fixture
    async def topics(self, kafka_bootstrap) -> Topics:
        topics = Topics(f"wavetest.{uuid.uuid4().hex[:10]}")
        await ensure_topics(kafka_bootstrap, topics, partitions=3)
        return topics

    @pytest.fixture
    def dead_letters(self, kafka_bootstrap, topics) -> KafkaDeadLetters:
        return KafkaDeadLetters(kafka_bootstrap, topics)

    @pytest.fixture
    def sent_back(self, kafka_bootstrap, topics):
        """A re-drive republishes to the events topic, which every consumer group reads."""

        async def event_ids(consumer: str) -> list[str]:
            records = await read_topic(kafka_bootstrap, topics.events)
            redriven = [dict(r.headers) for r in records if ("redriven", b"1") in r.headers]
            return [headers["event-id"].decode() for headers in redriven]

        return event_ids
