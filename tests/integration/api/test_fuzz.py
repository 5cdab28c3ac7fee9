"""Every operation of the OpenAPI document, fuzzed by schemathesis against the API served over a real
SQLite store with an admin token: no server error, and every response matches its documented status,
content type and schema. Bounded: 50 examples per operation."""

from __future__ import annotations

import asyncio

import pytest
import schemathesis
from api_server import escalated_run, served
from gitops_repos import make_repo
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from wave_api import openapi
from wave_api.settings import ApiSettings
from wave_app import access
from wave_store import open_store
from wave_store.tables import open_tables

# The event streams never end by themselves; their refusals are tested in test_streams.
schema = schemathesis.openapi.from_dict(openapi.document()).exclude(path_regex=r"stream$")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ_ADMIN = "fuzz-admin-7f3a9c"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    make_repo(root / "repo")

    async def prepare() -> str:
        async with await open_store(f"sqlite:///{root / 'wave.db'}") as store:
            await escalated_run(store, root / "repo")
            tables = await open_tables(store)
            try:
                _, secret = await access.create_token(tables, name=FUZZ_ADMIN, role="admin")
            finally:
                await tables.close()
            return secret

    secret = asyncio.run(prepare())
    # Fuzzed sign-ins present bad tokens by the hundred: slowing them down would hide the rest.
    with served(root / "wave.db", ApiSettings(api_auth_failures_per_minute=1_000_000)) as base:
        yield base, {"Authorization": f"Bearer {secret}"}


@pytest.mark.timeout(300)
@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error_or_an_undocumented_answer(case, server):
    base, auth = server
    case.call_and_validate(base_url=base, headers=auth, checks=CHECKS, timeout=30)
