"""A service's record of effects already carried out: bounded, least recently used out first,
failures never kept."""

import pytest
from wave_runtime.memo import EffectResults


async def test_an_effect_is_carried_out_once_per_key():
    calls = []

    async def effect():
        calls.append(1)
        return len(calls)

    results = EffectResults[str, int](size=4)
    assert await results.once("a", effect) == 1
    assert await results.once("a", effect) == 1
    assert await results.once("b", effect) == 2
    assert len(calls) == 2


async def test_a_failure_is_not_kept_so_the_retry_carries_it_out():
    async def failing():
        raise TimeoutError("model overloaded")

    async def working():
        return "answer"

    results = EffectResults[str, str]()
    with pytest.raises(TimeoutError):
        await results.once("a", failing)
    assert await results.once("a", working) == "answer"


def test_the_least_recently_used_result_goes_first():
    results = EffectResults[str, int](size=2)
    results.put("a", 1)
    results.put("b", 2)
    assert results.get("a") == 1  # now the most recent
    results.put("c", 3)
    assert (results.get("a"), results.get("b"), results.get("c"), len(results)) == (1, None, 3, 2)
    with pytest.raises(ValueError, match="size must be at least 1"):
        EffectResults(size=0)
