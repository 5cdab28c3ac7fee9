"""Planner settings from the environment, and the retry backoff they shape."""

from __future__ import annotations

import pytest
from wave_planner import Backoff, ConfigError, PlannerConfig, create_service


def test_defaults_apply_when_nothing_is_set() -> None:
    config = PlannerConfig.from_env({})
    assert (config.retry_base_s, config.retry_cap_s, config.max_answers, config.listing_limit) == (1.0, 60.0, 3, 300)


def test_settings_are_read_from_the_environment() -> None:
    config = PlannerConfig.from_env(
        {"WAVE_RETRY_BASE_S": "0.05", "WAVE_RETRY_CAP_S": "2", "WAVE_PLANNER_MAX_ANSWERS": "5", "WAVE_PLANNER_LISTING_LIMIT": ""}
    )
    assert (config.retry_base_s, config.retry_cap_s, config.max_answers, config.listing_limit) == (0.05, 2.0, 5, 300)
    assert config.backoff == Backoff(0.05, 2.0)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WAVE_RETRY_BASE_S": "soon"}, "WAVE_RETRY_BASE_S: Input should be a valid number, got 'soon'"),
        ({"WAVE_RETRY_BASE_S": "-1"}, "WAVE_RETRY_BASE_S must be at least 0 seconds"),
        ({"WAVE_RETRY_BASE_S": "nan"}, "WAVE_RETRY_BASE_S must be a number of seconds"),
        ({"WAVE_RETRY_CAP_S": "0"}, "WAVE_RETRY_CAP_S must be greater than 0 seconds"),
        ({"WAVE_RETRY_BASE_S": "90"}, "WAVE_RETRY_BASE_S (90.0) must not exceed WAVE_RETRY_CAP_S (60.0)"),
        ({"WAVE_PLANNER_MAX_ANSWERS": "0"}, "WAVE_PLANNER_MAX_ANSWERS must be a whole number from 1 to 20"),
        ({"WAVE_PLANNER_MAX_ANSWERS": "two"}, "WAVE_PLANNER_MAX_ANSWERS: Input should be a valid integer, got 'two'"),
        ({"WAVE_PLANNER_LISTING_LIMIT": "-5"}, "WAVE_PLANNER_LISTING_LIMIT must be a whole number from 0 to 10000"),
    ],
)
def test_a_bad_setting_is_refused_naming_its_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        PlannerConfig.from_env(env)
    assert message in str(refused.value)


def test_planner_settings_blank_bad_and_good_values() -> None:
    assert PlannerConfig.from_env({"WAVE_RETRY_CAP_S": " ", "WAVE_PLANNER_MAX_ANSWERS": ""}) == PlannerConfig()
    with pytest.raises(ConfigError) as refused:
        PlannerConfig.from_env({"WAVE_PLANNER_LISTING_LIMIT": "1.5"})
    assert str(refused.value) == "WAVE_PLANNER_LISTING_LIMIT: Input should be a valid integer, got '1.5'"
    assert PlannerConfig.from_env({"WAVE_PLANNER_LISTING_LIMIT": " 40 "}).listing_limit == 40


def test_the_factory_refuses_a_bad_setting_before_building_anything(tmp_path) -> None:
    with pytest.raises(ConfigError, match="WAVE_RETRY_CAP_S"):
        create_service({"WAVE_RETRY_CAP_S": "forever"}, cwd=tmp_path)


def test_the_factory_builds_an_offline_planner_without_keys(tmp_path) -> None:
    service = create_service({"WAVE_RETRY_BASE_S": "0.01"}, cwd=tmp_path)
    assert service.name == "planner" and service.models.offline
    assert service.config.retry_base_s == 0.01


@pytest.mark.parametrize("retry", [1, 2, 3, 5, 8, 30])
def test_a_delay_lies_between_half_and_all_of_its_capped_ceiling(retry: int) -> None:
    backoff = Backoff(base_s=1.0, cap_s=60.0)
    ceiling = min(60.0, 2.0**retry)
    for seed in ("a", "b", "c", "d"):
        assert ceiling / 2 - 0.001 <= backoff.delay(retry, seed) <= ceiling


def test_jitter_is_the_same_for_the_same_cause_and_differs_between_causes() -> None:
    backoff = Backoff()
    assert backoff.delay(3, "event-1") == backoff.delay(3, "event-1")
    assert len({backoff.delay(3, f"event-{n}") for n in range(20)}) > 10


def test_a_small_base_gives_small_delays() -> None:
    assert Backoff(base_s=0.01, cap_s=1.0).delay(1, "x") <= 0.02


def test_retry_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        Backoff().delay(0, "x")


def test_the_runtime_loads_the_planner_by_its_factory(tmp_path, monkeypatch) -> None:
    from wave_runtime import Service
    from wave_runtime.process import load_factory

    monkeypatch.chdir(tmp_path)
    for variable in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "XAI_API_KEY", "WAVE_MODELS_CONFIG", "WAVE_RETRY_BASE_S", "WAVE_RETRY_CAP_S"):
        monkeypatch.delenv(variable, raising=False)
    service = load_factory("wave_planner:create_service")
    assert isinstance(service, Service) and service.name == "planner"
    assert "TestsFailed" in service.handles and "RunRequested" in service.handles
