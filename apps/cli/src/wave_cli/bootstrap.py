"""The composition root: the one place that reads this process's environment and builds WAVE's parts
from it — settings, the event store, the dead letters, the models a run was submitted with, and the
services. Every command (`wave run`, `wave service NAME`, `wave relay`, `wave dlq redrive`, the demo)
gets its parts from one `Composition`, built once per process (the demo's stack builds a second one
for the environment its child processes get)."""

from __future__ import annotations

import getpass
import logging
import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wave_runtime import Service
from wave_store import EventStore, StoreError, open_store

from .errors import UserError
from .settings import Settings

if TYPE_CHECKING:
    from wave_app.replaying import ServiceDecisions
    from wave_llm import ModelsSetup
    from wave_runtime import DeadLetters

# In the order a run meets them; the embedded runtime starts them in this order too. The same specs
# serve `python -m wave_runtime service --factory …` in the Kubernetes deployments.
FACTORIES: dict[str, str] = {
    "planner": "wave_planner:create_service",
    "gitops": "wave_gitops:create_service",
    "developer": "wave_developer:create_service",
    "safety": "wave_safety:create_service",
    "qa": "wave_qa:create_service",
    "notifier": "wave_notifier:create_service",
}
# The services that call models: their factories take the run's models (`models_setup=`).
CALLS_MODELS = frozenset({"planner", "developer", "safety"})


def local_user() -> str:
    """The person at this terminal, named on what the CLI records for them."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True)
class Composition:
    settings: Settings
    env: Mapping[str, str]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Composition:
        env = os.environ if env is None else env
        return cls(Settings.from_env(env), env)

    # --- the store and the dead letters ---------------------------------------------------------

    @asynccontextmanager
    async def store(self) -> AsyncIterator[EventStore]:
        settings = self.settings
        if not settings.database_url:
            try:
                settings.home.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserError(f"cannot create WAVE_HOME {settings.home}: {exc.strerror}; set WAVE_HOME to a directory you can write") from None
        try:
            store = await open_store(settings.store_url)
        except StoreError as exc:
            raise UserError(str(exc)) from None
        except OSError as exc:
            raise UserError(f"cannot open the event store {settings.store_url}: {exc}") from None
        try:
            yield store
        finally:
            await store.close()

    def dead_letters(self) -> DeadLetters:
        if self.settings.distributed:
            from wave_runtime.kafka import KafkaDeadLetters, Topics

            return KafkaDeadLetters(self.settings.kafka_bootstrap, Topics.from_env(self.env))
        from wave_runtime import FileDeadLetters

        return FileDeadLetters(self.settings.dead_letters_path)

    # --- models ---------------------------------------------------------------------------------

    def use_cassette(self, path: str) -> str:
        """Every role plays its answers from the cassette: no model is called, nothing is metered.
        Returns the models file that says so, for the run to remember."""
        from wave_llm import load_cassette
        from wave_llm.errors import CassetteError

        from .demo import scripted_models_file

        try:
            load_cassette(path)
        except CassetteError as exc:
            raise UserError(f"--cassette: {exc}") from None
        return str(scripted_models_file(Path(path), self.settings.home))

    def models_in_use(self) -> str:
        """The models file this process would read (WAVE_MODELS_CONFIG, `.wave/models.yml`), absolute,
        for the run to remember; "" for the built-in defaults (then whoever drives the run uses its own)."""
        from wave_llm.errors import ConfigError
        from wave_llm.setup import find_config_file

        try:
            found = find_config_file(self.env, Path.cwd())
        except ConfigError as exc:
            raise UserError(str(exc)) from None
        return str(found.resolve()) if found is not None else ""

    def models_setup(self, model_source: str) -> ModelsSetup | None:
        """The models a run was submitted with; None when it names none (the services read their own)."""
        if not model_source:
            return None
        from wave_llm import load_models_setup
        from wave_llm.errors import ConfigError

        try:
            return load_models_setup(model_source, env=self.env)
        except (ConfigError, OSError) as exc:
            raise UserError(f"the run's models file cannot be read: {exc}") from None

    def check_model_source(self, cassette: str | None, model_source: str) -> None:
        """Refuse a run no model could plan before anything is stored: every role needs a key or a cassette."""
        from wave_llm import load_models_setup, missing_model_sources
        from wave_llm.errors import ConfigError

        try:
            missing = missing_model_sources(load_models_setup(model_source or None, env=self.env))
        except ConfigError as exc:
            raise UserError(str(exc)) from None
        if missing:
            why = "; ".join(dict.fromkeys(missing.values()))
            hint = "fix the cassette path" if cassette else "set ANTHROPIC_API_KEY, OPENAI_API_KEY or XAI_API_KEY, or pass --cassette FILE"
            raise UserError(f"no model source for {', '.join(missing)}: {why}; {hint}")

    def offline_banner(self, model_source: str = "") -> str | None:
        """The line saying that scripted answers stand in for models, when they do."""
        from wave_llm import load_models_setup, offline_banner

        try:
            return offline_banner(load_models_setup(model_source or None, env=self.env))
        except Exception:  # noqa: BLE001 - the services already refused a bad configuration
            return None

    def describe_models(self) -> dict[str, Any]:
        """The models this process would use: source, banner, routes (keys masked)."""
        from wave_llm import describe_setup, load_models_setup
        from wave_llm.errors import ConfigError

        try:
            return describe_setup(load_models_setup(env=self.env))
        except ConfigError as exc:
            raise UserError(str(exc)) from None

    # --- services -------------------------------------------------------------------------------

    def service(self, name: str, models: ModelsSetup | None = None) -> Service:
        """Build one service from its factory; configuration errors become one clear line. `models`:
        the models setup a model-calling service uses (default: its own reading of the environment)."""
        from wave_runtime.process import load_factory

        spec = FACTORIES.get(name)
        if spec is None:
            raise UserError(f"no service named {name!r}; the services are: {', '.join(FACTORIES)}")
        arguments = {"models_setup": models} if models is not None and name in CALLS_MODELS else {}
        try:
            return load_factory(spec, **arguments)
        except SystemExit as exc:  # the loader's refusal: not installed, or no service
            raise UserError(f"service {name} cannot start: {exc.code}; run `make setup`") from None
        except Exception as exc:  # configuration errors name their variable; say which service refused
            raise UserError(f"service {name} cannot start: {exc}") from None

    def services(self, model_source: str = "") -> list[Service]:
        """Every service, those that call models with the run's models."""
        models = self.models_setup(model_source)
        return [self.service(name, models) for name in FACTORIES]

    def embedded_services(self, model_source: str = "") -> list[Service] | None:
        """Every service with the run's models, built now when this process will run them (embedded);
        None when distributed (the services run elsewhere)."""
        return None if self.settings.distributed else self.services(model_source)

    def service_decisions(self) -> list[ServiceDecisions]:
        """Each service's decision function, for `wave replay --execute` to call again over a history."""
        from .replaying import every_service

        return every_service(self.env)

    def configure_tracing(self) -> None:
        """Spans of this process (the commands it records, and embedded, every service it runs) go
        where the services' own do: OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set."""
        from wave_runtime.tracing import configure_tracing

        configure_tracing("wave")

    def configure_logging(self) -> None:
        """For the long-running processes (`wave service`, `wave relay`)."""
        logging.basicConfig(level=self.env.get("WAVE_LOG_LEVEL", "INFO"), stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")
        from wave_runtime.outages import quiet_broker_client_logs

        quiet_broker_client_logs()
