"""Where the CLI finds the store and the broker, validated once at the boundary."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wave_runtime.settings import EnvSettings, read_settings, wave_home
from wave_store import StoreError
from wave_store.config import check_store_url

from .errors import UserError


class CliSettings(EnvSettings):
    """WAVE_DATABASE_URL and WAVE_KAFKA_BOOTSTRAP as given; Settings.from_env checks them."""

    model_config = {"env_prefix": "WAVE_"}

    database_url: str = ""
    kafka_bootstrap: str = ""


@dataclass(frozen=True)
class Settings:
    home: Path  # WAVE_HOME (default: the XDG state directory): the embedded store, dead letters, projections
    database_url: str  # "" means the embedded SQLite store under `home`
    kafka_bootstrap: str  # "" means the embedded transport (no Kafka)

    @property
    def distributed(self) -> bool:
        return bool(self.kafka_bootstrap)

    @property
    def mode(self) -> str:
        return "distributed (Kafka)" if self.distributed else "embedded"

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'wave.db'}"

    @property
    def dead_letters_path(self) -> Path:
        return self.home / "dead-letters.jsonl"

    @property
    def projections_dir(self) -> Path:
        return self.home / "projections"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = wave_home(env)
        variables = read_settings(CliSettings, env)
        database_url, bootstrap = variables.database_url, variables.kafka_bootstrap
        try:
            check_store_url(database_url)
        except StoreError as exc:
            raise UserError(str(exc)) from None
        if bootstrap:
            host, _, port = bootstrap.rpartition(":")
            if not host or not port.isdigit():
                raise UserError(f"WAVE_KAFKA_BOOTSTRAP={bootstrap!r} must look like host:port")
            if not database_url.startswith(("postgresql://", "postgres://")):
                raise UserError(
                    "WAVE_KAFKA_BOOTSTRAP is set but WAVE_DATABASE_URL is not a postgresql:// URL: "
                    "the distributed mode keeps its events in PostgreSQL (see README: configuration)"
                )
        return cls(home=home, database_url=database_url, kafka_bootstrap=bootstrap)
