"""Fixtures for the fault tests: a deployment of separate processes on a fresh database and topics of
its own, and a figures recorder whose numbers show in the terminal (also under `make test`)."""

from __future__ import annotations

import uuid

import pytest
from fault_flow import LEDGER_DDL
from fault_procs import Deployment, delete_topics
from wave_runtime.kafka import Topics, ensure_topics
from wave_store.postgres import PostgresEventStore


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


class Figures:
    def __init__(self, name: str, summary) -> None:
        self.name, self.summary = name, summary

    def report(self, **numbers) -> None:
        numbers = {k: round(v, 2) if isinstance(v, float) else v for k, v in numbers.items()}
        self.summary("fault figures (docs/reliability.md)", f"{self.name}: " + ", ".join(f"{k}={v}" for k, v in numbers.items()))


@pytest.fixture
def figures(request, summary) -> Figures:
    return Figures(request.node.name, summary)


@pytest.fixture
def topics() -> Topics:
    return Topics(f"wavefault.{uuid.uuid4().hex[:10]}")


@pytest.fixture
async def store(pg_database_url):
    store = await PostgresEventStore.connect(pg_database_url, max_size=4)
    await store.pool.execute(LEDGER_DDL)
    yield store
    await store.close()


@pytest.fixture
async def deployment(request, pg_database_url, kafka_bootstrap, topics, store, tmp_path):
    """Service and relay processes on the shared broker; the test starts the ones it needs."""
    async for deployed in _deployed(request, pg_database_url, kafka_bootstrap, topics, tmp_path, partitions=3):
        yield deployed


@pytest.fixture
async def stack(request, pg_database_url, kafka_bootstrap, topics, store, tmp_path):
    """The same on topics of the services' default 6 partitions: room for several replicas of a role."""
    async for deployed in _deployed(request, pg_database_url, kafka_bootstrap, topics, tmp_path):
        yield deployed


async def _deployed(request, pg_database_url, kafka_bootstrap, topics, tmp_path, **topic_options):
    await ensure_topics(kafka_bootstrap, topics, **topic_options)
    deployment = Deployment(pg_database_url, kafka_bootstrap, topics.prefix, tmp_path)
    yield deployment
    deployment.stop_all()
    _show_logs_on_failure(request, deployment)
    await delete_topics(kafka_bootstrap, [topics.events, topics.dlq, topics.work])


def _show_logs_on_failure(request, deployment: Deployment) -> None:
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(deployment.logs())
