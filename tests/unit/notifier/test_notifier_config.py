"""Configuration: channels, tokens and webhooks from the environment, validated, secrets never echoed."""

from __future__ import annotations

import logging

import pytest
from wave_notifier import (
    Channels,
    ConfigError,
    SlackConfig,
    WebClientSender,
    WebhookSender,
    build_sender,
    create_service,
)

TOKEN = "xoxb-1111-2222-abcdef"
HOOK = "https://hooks.slack.com/services/T000/B000/SECRETSECRET"


def test_default_channels_route_by_severity() -> None:
    channels = SlackConfig.from_env({}).channels
    assert (channels.updates, channels.alerts, channels.budget) == (
        "#wave-updates",
        "#wave-alerts",
        "#wave-budget",
    )


def test_channels_come_from_the_environment_by_name_or_id() -> None:
    env = {
        "WAVE_SLACK_CHANNEL_UPDATES": "#ci-news",
        "WAVE_SLACK_CHANNEL_ALERTS": "C0123ABCD9",
        "WAVE_SLACK_CHANNEL_BUDGET": "",
    }
    channels = Channels.from_env(env)
    assert (channels.updates, channels.alerts, channels.budget) == ("#ci-news", "C0123ABCD9", "#wave-budget")


@pytest.mark.parametrize("bad", ["wave-updates", "#Wave Updates", "#", "#" + "x" * 81, "c0123abcd"])
def test_an_invalid_channel_is_refused_naming_the_setting(bad: str) -> None:
    with pytest.raises(ConfigError, match="WAVE_SLACK_CHANNEL_ALERTS must be a channel name"):
        Channels.from_env({"WAVE_SLACK_CHANNEL_ALERTS": bad})


def test_a_channels_object_is_validated_too() -> None:
    with pytest.raises(ConfigError, match="channel for budget"):
        Channels(budget="money")


def test_a_malformed_token_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        SlackConfig.from_env({"WAVE_SLACK_BOT_TOKEN": "not-a-token-secret123"})
    assert "WAVE_SLACK_BOT_TOKEN" in str(caught.value) and "secret123" not in str(caught.value)


def test_a_malformed_webhook_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        SlackConfig.from_env({"WAVE_SLACK_WEBHOOK_URL_BUDGET": "hooks.slack.com/services/SECRET"})
    assert "WAVE_SLACK_WEBHOOK_URL_BUDGET" in str(caught.value) and "SECRET" not in str(caught.value)


def test_max_attempts_must_be_a_small_whole_number() -> None:
    with pytest.raises(ConfigError, match="WAVE_SLACK_MAX_ATTEMPTS: Input should be a valid integer, got 'many'"):
        SlackConfig.from_env({"WAVE_SLACK_MAX_ATTEMPTS": "many"})
    with pytest.raises(ConfigError, match="between 1 and 10"):
        SlackConfig.from_env({"WAVE_SLACK_MAX_ATTEMPTS": "0"})


def test_slack_settings_blank_bad_and_good_values() -> None:
    blank = SlackConfig.from_env({"WAVE_SLACK_BOT_TOKEN": "", "WAVE_SLACK_CHANNEL_ALERTS": " ", "WAVE_SLACK_API_URL": ""})
    assert blank == SlackConfig() and not blank.enabled
    with pytest.raises(ConfigError) as refused:
        SlackConfig.from_env({"WAVE_SLACK_CHANNEL_UPDATES": "wave updates"})
    assert "WAVE_SLACK_CHANNEL_UPDATES must be a channel name" in str(refused.value)
    good = SlackConfig.from_env({"WAVE_SLACK_BOT_TOKEN": f" {TOKEN} ", "WAVE_SLACK_MAX_ATTEMPTS": "5"})
    assert (good.bot_token, good.max_attempts) == (TOKEN, 5)


def test_without_slack_configuration_the_service_is_disabled_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="wave.notifier")
    service = create_service({"WAVE_SLACK_CHANNEL_UPDATES": "#ci-news"})
    assert service.name == "notifier"
    assert not service.enabled and service.handles == frozenset()
    assert "notifier disabled" in caplog.text and "WAVE_SLACK_BOT_TOKEN" in caplog.text


def test_a_bot_token_selects_the_web_api_and_wins_over_a_webhook(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wave.notifier")
    config = SlackConfig.from_env({"WAVE_SLACK_BOT_TOKEN": TOKEN, "WAVE_SLACK_WEBHOOK_URL": HOOK})
    assert isinstance(build_sender(config), WebClientSender)
    service = create_service(config=config)
    assert service.enabled and "RunRequested" in service.handles
    assert TOKEN not in caplog.text and HOOK not in caplog.text
    assert "using the bot token" in caplog.text


def test_webhooks_alone_select_the_webhook_sender_with_per_route_urls() -> None:
    other = "https://hooks.slack.com/services/T000/B999/OTHER"
    config = SlackConfig.from_env({"WAVE_SLACK_WEBHOOK_URL": HOOK, "WAVE_SLACK_WEBHOOK_URL_BUDGET": other})
    sender = build_sender(config)
    assert isinstance(sender, WebhookSender)
    assert sender.destination("#wave-budget") == other
    assert sender.destination("#wave-alerts") == HOOK
