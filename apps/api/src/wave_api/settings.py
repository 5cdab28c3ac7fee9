"""The API's own settings, read from the environment with the project's one rule (blank is unset,
a bad value is one line naming the variable)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, SecretStr, field_validator
from wave_runtime.settings import EnvSettings, SettingError, read_settings


class ApiSettings(EnvSettings):
    model_config = {"env_prefix": "WAVE_"}

    # Origins a browser may call the API from (comma-separated); none: CORS stays closed.
    api_cors_origins: str = ""
    # Slack's signing secret of the app whose Approve/Reject buttons post to /slack/actions.
    slack_signing_secret: SecretStr | None = None
    # Which Slack users may decide, and as whom: `U123=ana,U456=bo`.
    slack_approvers: str = ""
    # Bad tokens one client address may present per minute before it gets 429 for the rest of it.
    api_auth_failures_per_minute: int = Field(5, ge=1)
    # Distributed: the services' Prometheus endpoints the dashboard shows, `SERVICE=URL,...`
    # (`planner=http://wave-planner:9100/metrics`); none: the dashboard counts from the store.
    api_metrics_targets: str = ""

    @field_validator("slack_approvers")
    @classmethod
    def _approvers_parse(cls, value: str) -> str:
        parse_approvers(value)
        return value

    @field_validator("api_metrics_targets")
    @classmethod
    def _targets_parse(cls, value: str) -> str:
        from .scrape import parse_targets

        parse_targets(value)
        return value

    @property
    def cors_origins(self) -> list[str]:
        return [origin.strip() for origin in self.api_cors_origins.split(",") if origin.strip()]

    @property
    def approvers(self) -> dict[str, str]:
        return parse_approvers(self.slack_approvers)


def parse_approvers(text: str) -> dict[str, str]:
    """`U123=ana,U456=bo` as {Slack user id: approver name}."""
    found = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        user, sep, name = (part.strip() for part in entry.partition("="))
        if not sep or not user or not name:
            raise ValueError(f"{entry!r} is not SLACK_USER=NAME")
        found[user] = name
    return found


def read_api_settings(env: Mapping[str, str] | None = None) -> ApiSettings:
    return read_settings(ApiSettings, env, error=SettingError)
