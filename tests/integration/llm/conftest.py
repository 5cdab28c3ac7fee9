from collections.abc import Iterator

import pytest
from llm_fake_server import FakeModelServer


@pytest.fixture
def fake_server() -> Iterator[FakeModelServer]:
    server = FakeModelServer().start()
    yield server
    server.stop()
