"""Retries with jitter, honouring Retry-After, in one place for every provider."""

import json
import random

import pytest
from llm_models import RecordedSleep
from wave_llm import (
    Message,
    ModelRequest,
    PermanentModelError,
    RetryPolicy,
    ScriptedProvider,
    TransientModelError,
    call_with_retries,
)
from wave_llm.errors import from_http_status, retry_after_seconds


@pytest.mark.parametrize("attempt", [1, 2, 3, 4])
def test_backoff_is_jittered_within_an_exponential_ceiling(attempt):
    policy = RetryPolicy(max_attempts=10, base_delay_s=0.5, max_delay_s=3.0)
    ceiling = min(3.0, 0.5 * 2 ** (attempt - 1))
    waits = [policy.delay(attempt, None, random.Random(seed)) for seed in range(50)]
    assert all(0 <= w <= ceiling for w in waits)
    assert len(set(waits)) > 1


def test_retry_after_is_a_floor_and_too_long_a_wait_gives_up():
    policy = RetryPolicy(max_attempts=5, base_delay_s=0.5, max_delay_s=10)
    assert all(policy.delay(1, 4.0, random.Random(s)) >= 4.0 for s in range(20))
    assert policy.delay(1, 11.0, random.Random(0)) is None


def test_no_retry_after_the_last_attempt():
    assert RetryPolicy(max_attempts=2).delay(2, None, random.Random(0)) is None


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_header_forms(headers, seconds):
    assert retry_after_seconds(headers) == seconds


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, TransientModelError),
        (500, TransientModelError),
        (529, TransientModelError),
        (408, TransientModelError),
        (400, PermanentModelError),
        (401, PermanentModelError),
        (404, PermanentModelError),
    ],
)
def test_statuses_map_to_transient_or_permanent(status, kind):
    assert type(from_http_status("p", status, "m")) is kind


def _scripted(tmp_path, *responses):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"interactions": [{"role": "planner", "response": r} for r in responses]}))
    return ScriptedProvider(path)


REQUEST = ModelRequest(
    role="planner", model="m", messages=(Message(role="user", content="hi"),), max_tokens=10
)
OVERLOADED = {"error": {"kind": "transient", "message": "overloaded", "status": 529}}


async def test_transient_failures_are_retried_until_an_answer(tmp_path):
    provider = _scripted(tmp_path, OVERLOADED, OVERLOADED, {"text": "done"})
    sleep = RecordedSleep()
    response = await call_with_retries(
        provider.complete,
        REQUEST,
        RetryPolicy(max_attempts=3, base_delay_s=0.2),
        rng=random.Random(1),
        sleep=sleep,
    )
    assert response.text == "done"
    assert len(sleep.waits) == 2


async def test_the_last_transient_failure_is_raised_with_the_number_of_tries(tmp_path):
    provider = _scripted(tmp_path, OVERLOADED, OVERLOADED, {"text": "too late"})
    with pytest.raises(TransientModelError, match=r"overloaded \(after 2 tries\)"):
        await call_with_retries(
            provider.complete,
            REQUEST,
            RetryPolicy(max_attempts=2),
            rng=random.Random(1),
            sleep=RecordedSleep(),
        )


async def test_permanent_failures_are_not_retried(tmp_path):
    provider = _scripted(
        tmp_path, {"error": {"kind": "permanent", "message": "bad request"}}, {"text": "never"}
    )
    sleep = RecordedSleep()
    with pytest.raises(PermanentModelError):
        await call_with_retries(
            provider.complete, REQUEST, RetryPolicy(max_attempts=5), rng=random.Random(1), sleep=sleep
        )
    assert sleep.waits == []
