"""Where the `wave` command keeps its state: never the directory it is started from."""

from __future__ import annotations

from pathlib import Path

from wave_cli.settings import Settings


def test_the_store_defaults_to_the_xdg_state_directory(tmp_path: Path) -> None:
    settings = Settings.from_env({"XDG_STATE_HOME": str(tmp_path / "state")})
    assert settings.store_url == f"sqlite:///{tmp_path / 'state' / 'wave' / 'wave.db'}"


def test_without_xdg_state_home_the_store_is_under_the_users_home(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "ana"))
    for env in ({}, {"XDG_STATE_HOME": "relative/state"}):  # a relative XDG path is invalid, so ignored
        assert Settings.from_env(env).home == tmp_path / "ana" / ".local" / "state" / "wave"


def test_wave_home_wins(tmp_path: Path) -> None:
    settings = Settings.from_env({"WAVE_HOME": str(tmp_path / "wave"), "XDG_STATE_HOME": str(tmp_path / "state")})
    assert settings.home == tmp_path / "wave" and settings.dead_letters_path.parent == tmp_path / "wave"
