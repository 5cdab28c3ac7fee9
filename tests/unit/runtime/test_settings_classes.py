"""Settings classes without a service config test of their own: blank is unset, a bad value is one
line naming the variable, a good value is read."""

from __future__ import annotations

from pathlib import Path

import pytest
from wave_cli.errors import UserError
from wave_cli.settings import Settings
from wave_gitops import ConfigError as GitOpsConfigError
from wave_gitops.config import GitOpsConfig
from wave_runtime.kafka import Topics
from wave_runtime.settings import SettingError
from wave_store.config import StoreSettings


def test_topics_blank_bad_and_good() -> None:
    assert Topics.from_env({"WAVE_TOPIC_PREFIX": " "}) == Topics("wave")
    with pytest.raises(SettingError) as refused:
        Topics.from_env({"WAVE_TOPIC_PREFIX": "my topics"})
    assert str(refused.value).startswith("WAVE_TOPIC_PREFIX: String should match pattern")
    assert str(refused.value).endswith(", got 'my topics'")
    assert Topics.from_env({"WAVE_TOPIC_PREFIX": "ci-7"}).events == "ci-7.events.v1"


def test_cli_settings_blank_bad_and_good(tmp_path: Path) -> None:
    blank = Settings.from_env({"WAVE_HOME": str(tmp_path), "WAVE_DATABASE_URL": " ", "WAVE_KAFKA_BOOTSTRAP": ""})
    assert (blank.database_url, blank.mode) == ("", "embedded")
    with pytest.raises(UserError, match="WAVE_KAFKA_BOOTSTRAP='kafka' must look like host:port"):
        Settings.from_env({"WAVE_DATABASE_URL": "postgresql://db/wave", "WAVE_KAFKA_BOOTSTRAP": "kafka"})
    good = Settings.from_env({"WAVE_DATABASE_URL": "postgresql://db/wave", "WAVE_KAFKA_BOOTSTRAP": " kafka:9092 "})
    assert (good.kafka_bootstrap, good.mode) == ("kafka:9092", "distributed (Kafka)")


def test_gitops_settings_blank_bad_and_good() -> None:
    assert GitOpsConfig.from_env({"WAVE_GITOPS_REPO": " ", "WAVE_GITOPS_REMOTE": ""}) == GitOpsConfig()
    with pytest.raises(GitOpsConfigError, match="WAVE_GITOPS_REMOTE='https://x/y.git' is a URL or path"):
        GitOpsConfig.from_env({"WAVE_GITOPS_REMOTE": "https://x/y.git"})
    assert GitOpsConfig.from_env({"WAVE_GITOPS_REPO": "/srv/shop", "WAVE_GITOPS_REMOTE": "https://x/y.git"}).remote == "https://x/y.git"


def test_store_settings_blank_and_good(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAVE_DATABASE_URL", "")
    monkeypatch.setenv("WAVE_HOME", " ")
    assert StoreSettings().database_url == "" and not StoreSettings().home
    monkeypatch.setenv("WAVE_DATABASE_URL", " sqlite:///tmp/w.db ")
    assert StoreSettings().database_url == "sqlite:///tmp/w.db"
