"""Where notifications go and how Slack is reached, read from the environment or given as an object.

Secrets (the bot token, webhook URLs) are never part of an error message or a log line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from pydantic import SecretStr
from wave_runtime.settings import EnvSettings, SettingError, read_settings

Route = Literal["updates", "alerts", "budget"]
ROUTES: tuple[Route, ...] = ("updates", "alerts", "budget")

DEFAULT_API_URL = "https://slack.com/api/"
# A channel is named "#name" (Slack's rules: lowercase letters, digits, - and _, at most 80) or given by id.
_CHANNEL_NAME = re.compile(r"^#[a-z0-9][a-z0-9_-]{0,79}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{8,}$")
_BOT_TOKEN = re.compile(r"^xox[bp]-[A-Za-z0-9-]{6,}$")


class ConfigError(SettingError):
    """The notifier's configuration is unusable; the message names the setting."""


def is_channel_id(channel: str) -> bool:
    return bool(_CHANNEL_ID.fullmatch(channel))


def validate_channel(channel: object, setting: str = "channel") -> str:
    if not isinstance(channel, str) or not (
        _CHANNEL_NAME.fullmatch(channel) or _CHANNEL_ID.fullmatch(channel)
    ):
        raise ConfigError(
            f"{setting} must be a channel name like '#wave-updates' (lowercase letters, digits, - and _) "
            f"or a channel id like 'C0123ABCD', got {channel!r}"
        )
    return channel


def _validate_url(url: object, setting: str) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("https", "http") or not parts.netloc:
        # The value may hold a secret (a webhook URL is one): name the setting, never echo it.
        raise ConfigError(f"{setting} must be an http(s) URL")
    return url  # type: ignore[return-value]


@dataclass(frozen=True)
class Channels:
    """The channel of each route: progress, things a human must look at, money."""

    updates: str = "#wave-updates"
    alerts: str = "#wave-alerts"
    budget: str = "#wave-budget"

    def __post_init__(self) -> None:
        for route in ROUTES:
            validate_channel(getattr(self, route), f"channel for {route}")

    def of(self, route: Route) -> str:
        return getattr(self, route)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Channels:
        settings = read_settings(SlackSettings, env, error=ConfigError)
        return settings.channels()


@dataclass(frozen=True)
class SlackConfig:
    """How to reach Slack. With a bot token, messages go through chat.postMessage and can be read back
    (the stronger idempotency guarantee); with only webhooks, each route posts to its webhook (or the
    default one). With neither, the notifier is disabled."""

    channels: Channels = field(default_factory=Channels)
    bot_token: str | None = None
    webhook_url: str | None = None
    route_webhook_urls: Mapping[Route, str] = field(default_factory=dict)
    api_url: str = DEFAULT_API_URL
    timeout_s: float = 10.0
    max_attempts: int = 3  # per message, for server errors and lost connections; 429s are waited out on top
    max_retry_after_s: float = 30.0  # a longer Retry-After is left to the runtime's retry instead of blocking
    retry_backoff_s: float = 0.5

    def __post_init__(self) -> None:
        if self.bot_token is not None and not _BOT_TOKEN.fullmatch(self.bot_token):
            raise ConfigError(
                "WAVE_SLACK_BOT_TOKEN must be a Slack bot token (xoxb-…) or user token (xoxp-…)"
            )
        if self.webhook_url is not None:
            _validate_url(self.webhook_url, "WAVE_SLACK_WEBHOOK_URL")
        for route, url in self.route_webhook_urls.items():
            if route not in ROUTES:
                raise ConfigError(
                    f"unknown route {route!r} for a webhook URL; routes are {', '.join(ROUTES)}"
                )
            _validate_url(url, f"WAVE_SLACK_WEBHOOK_URL_{route.upper()}")
        _validate_url(self.api_url, "WAVE_SLACK_API_URL")
        if not self.timeout_s > 0:
            raise ConfigError(f"timeout_s must be positive, got {self.timeout_s}")
        if not 1 <= self.max_attempts <= 10:
            raise ConfigError(f"max_attempts must be between 1 and 10, got {self.max_attempts}")
        if self.max_retry_after_s < 0 or self.retry_backoff_s < 0:
            raise ConfigError("max_retry_after_s and retry_backoff_s must not be negative")

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None or self.webhook_url is not None or bool(self.route_webhook_urls)

    def webhook_for(self, route: Route) -> str | None:
        return self.route_webhook_urls.get(route) or self.webhook_url

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SlackConfig:
        settings = read_settings(SlackSettings, env, error=ConfigError)
        routes = {
            route: url.get_secret_value()
            for route in ROUTES
            if (url := getattr(settings, f"webhook_url_{route}")) is not None
        }
        return cls(
            channels=settings.channels(),
            bot_token=_secret(settings.bot_token),
            webhook_url=_secret(settings.webhook_url),
            route_webhook_urls=routes,
            api_url=settings.api_url,
            max_attempts=settings.max_attempts,
        )


class SlackSettings(EnvSettings):
    """The WAVE_SLACK_* variables, parsed; SlackConfig and Channels check them. Tokens and webhook URLs
    are secrets: an error about them never repeats the value."""

    model_config = {"env_prefix": "WAVE_SLACK_"}

    channel_updates: str = Channels.updates
    channel_alerts: str = Channels.alerts
    channel_budget: str = Channels.budget
    bot_token: SecretStr | None = None
    webhook_url: SecretStr | None = None
    webhook_url_updates: SecretStr | None = None
    webhook_url_alerts: SecretStr | None = None
    webhook_url_budget: SecretStr | None = None
    api_url: str = DEFAULT_API_URL
    max_attempts: int = 3

    def channels(self) -> Channels:
        for route in ROUTES:
            validate_channel(getattr(self, f"channel_{route}"), f"WAVE_SLACK_CHANNEL_{route.upper()}")
        return Channels(self.channel_updates, self.channel_alerts, self.channel_budget)


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()
