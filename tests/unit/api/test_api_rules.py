"""The API's pure rules: slowing down bad credentials, the Slack approvers setting, roles."""

from __future__ import annotations

import pytest
from wave_api.auth import FailureLimiter
from wave_api.settings import read_api_settings
from wave_app import access
from wave_runtime.settings import SettingError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_in_a_minute_block_that_address_until_the_oldest_is_a_minute_old():
    clock = Clock()
    limiter = FailureLimiter(limit=5, window_s=60, clock=clock)
    for _ in range(4):
        limiter.failed("10.0.0.1")
        clock.now += 5
    assert limiter.retry_after("10.0.0.1") is None
    limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 40  # the first failure, at 1000, leaves the window at 1060
    assert limiter.retry_after("10.0.0.2") is None
    clock.now = 1060.5
    assert limiter.retry_after("10.0.0.1") is None


def test_failures_spread_over_more_than_a_minute_never_block():
    clock = Clock()
    limiter = FailureLimiter(limit=5, window_s=60, clock=clock)
    for _ in range(20):
        limiter.failed("10.0.0.1")
        clock.now += 13
        assert limiter.retry_after("10.0.0.1") is None


def test_slack_approvers_map_users_to_names():
    settings = read_api_settings({"WAVE_SLACK_APPROVERS": " U123=ana , U456=bo ,"})
    assert settings.approvers == {"U123": "ana", "U456": "bo"}


@pytest.mark.parametrize("value", ["U123", "U123=", "=ana", "U1=a,U2"])
def test_a_malformed_approvers_setting_is_one_line_naming_the_variable(value):
    with pytest.raises(SettingError) as refused:
        read_api_settings({"WAVE_SLACK_APPROVERS": value})
    assert "WAVE_SLACK_APPROVERS" in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [("viewer", "viewer", True), ("viewer", "approver", False), ("approver", "approver", True),
     ("approver", "admin", False), ("admin", "approver", True), ("owner", "viewer", False)],
)
def test_each_role_includes_the_ones_below_it(role, needed, allowed):
    assert access.allows(role, needed) is allowed


def test_a_quantile_of_scraped_buckets_interpolates_as_prometheus_does():
    from wave_api.scrape import quantile

    buckets = [(0.1, 0.0), (0.2, 10.0), (float("inf"), 10.0)]
    assert quantile(0.5, buckets) == pytest.approx(0.15)
    assert quantile(0.99, [(0.1, 0.0), (float("inf"), 4.0)]) == 0.1  # past the last bound: that bound
    assert quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)]) is None  # nothing observed yet
