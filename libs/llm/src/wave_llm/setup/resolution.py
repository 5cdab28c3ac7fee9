"""Resolution: the models file plus the environment become what every role will call (providers with
their keys, URLs and cassettes, a route per role), and which roles have nothing they can call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..model import ROLES
from ..pricing import Price, PriceTable
from ..providers.openai import OPENAI_COMPATIBLE_PRESETS
from .schema import ModelsFile, ProviderSettings, RouteEntrySettings

CASSETTE_ENV = "WAVE_SCRIPTED_CASSETTE"
RECORD_ENV = "WAVE_RECORD_CASSETTE"
DEFAULT_CASSETTE = ".wave/cassette.yml"

BUILTIN_PROVIDERS: dict[str, ProviderSettings] = {
    "anthropic": ProviderSettings(kind="anthropic"),
    "openai": ProviderSettings(kind="openai"),
    "xai": ProviderSettings(kind="openai_compatible", preset="xai"),
    "ollama": ProviderSettings(kind="openai_compatible", preset="ollama"),
    "scripted": ProviderSettings(kind="scripted"),
}

# The route every role gets when the file names none: the first providers with a key, in this order.
DEFAULT_ROUTE: tuple[RouteEntrySettings, ...] = (
    RouteEntrySettings(provider="anthropic", model="claude-sonnet-4-5", max_failures=2),
    RouteEntrySettings(provider="openai", model="gpt-4.1", max_failures=2),
    RouteEntrySettings(provider="xai", model="grok-4", max_failures=2),
)
OFFLINE_ROUTE = (RouteEntrySettings(provider="scripted", model="scripted", max_failures=1),)


@dataclass(frozen=True)
class ResolvedProvider:
    name: str
    settings: ProviderSettings
    api_key: str | None
    base_url: str | None
    cassette: str | None

    @property
    def available(self) -> bool:
        """Whether the provider can be called: it has its key, or needs none."""
        return self.settings.key_variable() is None or bool(self.api_key)

    @property
    def metered(self) -> bool:
        return self.settings.is_metered()


@dataclass(frozen=True)
class ModelsSetup:
    """The effective configuration: providers with their keys and URLs resolved, a route for every role."""

    source: str
    providers: dict[str, ResolvedProvider]
    routes: dict[str, tuple[RouteEntrySettings, ...]]
    prices: PriceTable
    file: ModelsFile
    record_cassette: str | None

    @property
    def offline(self) -> bool:
        return all(
            self.providers[e.provider].settings.kind == "scripted" for r in self.routes.values() for e in r
        )

    def cassettes(self) -> list[str]:
        names = {e.provider for r in self.routes.values() for e in r}
        return sorted({p.cassette for n in names if (p := self.providers[n]).cassette})


def resolve(models_file: ModelsFile, *, env: Mapping[str, str], cwd: Path, source: str) -> ModelsSetup:
    settings = {**BUILTIN_PROVIDERS, **models_file.providers}
    providers = {name: _resolve_provider(name, s, env, cwd) for name, s in settings.items()}
    prices = PriceTable().with_overrides(
        {model: Price(p.input, p.output) for model, p in models_file.prices.items()}
    )

    available_default = tuple(e for e in DEFAULT_ROUTE if providers[e.provider].available)
    fallback_route = available_default or OFFLINE_ROUTE
    routes = {role: models_file.routes.get(role, fallback_route) for role in ROLES}  # type: ignore[call-overload]

    for role, route in models_file.routes.items():
        if not route:
            raise ConfigError(f"{source}: routes.{role}: a route needs at least one entry")
        for index, entry in enumerate(route):
            where = f"{source}: routes.{role}[{index}]"
            if entry.provider not in providers:
                known = ", ".join(sorted(providers))
                raise ConfigError(f"{where}.provider: unknown provider {entry.provider!r} (known: {known})")
            provider = providers[entry.provider]
            if provider.metered and prices.lookup(entry.model) is None:
                raise ConfigError(
                    f"{where}.model: no price for {entry.model!r} on metered provider {entry.provider!r}; "
                    f"add it under `prices:`"
                )
    record = env.get(RECORD_ENV) or models_file.record_cassette
    return ModelsSetup(
        source=source,
        providers=providers,
        routes=routes,
        prices=prices,
        file=models_file,
        record_cassette=str(_absolute(record, cwd)) if record else None,
    )


def _absolute(path: str, cwd: Path) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else cwd / candidate


def _resolve_provider(
    name: str, settings: ProviderSettings, env: Mapping[str, str], cwd: Path
) -> ResolvedProvider:
    key_variable = settings.key_variable()
    api_key = env.get(key_variable) if key_variable else None
    url_variable = settings.url_variable()
    base_url = (env.get(url_variable) if url_variable else None) or settings.base_url
    if base_url is None and settings.preset:
        base_url = OPENAI_COMPATIBLE_PRESETS[settings.preset].base_url
    cassette = None
    if settings.kind == "scripted":
        cassette = str(_absolute(settings.cassette or env.get(CASSETTE_ENV) or DEFAULT_CASSETTE, cwd))
    return ResolvedProvider(
        name=name, settings=settings, api_key=api_key or None, base_url=base_url, cassette=cassette
    )


def missing_model_sources(setup: ModelsSetup) -> dict[str, str]:
    """The roles no entry of their route can answer for, each with why (a provider without its key,
    a cassette that does not exist). Empty when every role has a model to call."""
    missing: dict[str, str] = {}
    for role, route in setup.routes.items():
        reasons: list[str] = []
        for entry in route:
            provider = setup.providers[entry.provider]
            if not provider.available:
                reasons.append(f"provider {entry.provider} needs {provider.settings.key_variable()}, which is not set")
            elif provider.cassette and not Path(provider.cassette).is_file():
                reasons.append(f"the cassette {provider.cassette} does not exist")
            else:
                break
        else:
            missing[role] = "; ".join(dict.fromkeys(reasons))
    return missing
