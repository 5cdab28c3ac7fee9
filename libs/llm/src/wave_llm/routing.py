"""Which provider and model serve each role, in fallback order, built from the effective configuration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .errors import ConfigError
from .model import ROLES
from .pricing import Price
from .provider import ModelProvider
from .providers import (
    AnthropicProvider,
    OpenAICompatibleProvider,
    OpenAIProvider,
    RecordingProvider,
    ScriptedProvider,
)
from .setup import ModelsSetup, ResolvedProvider, offline_banner


@dataclass(frozen=True)
class RouteEntry:
    """One step of a role's route: the model to ask, where, and after how many consecutive failures to
    move on to the next step."""

    provider: ModelProvider
    model: str
    max_failures: int
    price: Price

    def __post_init__(self) -> None:
        if self.max_failures < 1:
            raise ValueError(f"max_failures must be at least 1, got {self.max_failures}")


class Router:
    def __init__(self, routes: Mapping[str, Sequence[RouteEntry]], *, banner: str | None = None) -> None:
        missing = [role for role in ROLES if not routes.get(role)]
        if missing:
            raise ConfigError(f"no route for role(s): {', '.join(missing)}")
        unknown = sorted(set(routes) - set(ROLES))
        if unknown:
            raise ConfigError(f"routes for unknown role(s): {', '.join(unknown)} (roles: {', '.join(ROLES)})")
        self._routes = {role: tuple(entries) for role, entries in routes.items()}
        self.banner = banner

    @property
    def offline(self) -> bool:
        """True when every role is served by scripted responses only."""
        return all(isinstance(e.provider, ScriptedProvider) for r in self._routes.values() for e in r)

    def route(self, role: str) -> tuple[RouteEntry, ...]:
        try:
            return self._routes[role]
        except KeyError:
            raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}") from None

    def providers(self) -> list[ModelProvider]:
        unique: dict[int, ModelProvider] = {}
        for route in self._routes.values():
            for entry in route:
                unique.setdefault(id(entry.provider), entry.provider)
        return list(unique.values())

    async def aclose(self) -> None:
        for provider in self.providers():
            await provider.aclose()

    @classmethod
    def from_setup(cls, setup: ModelsSetup) -> Router:
        """Instantiate one adapter per provider the routes use; refuses a route whose provider lacks its key."""
        instances: dict[str, ModelProvider] = {}
        routes: dict[str, list[RouteEntry]] = {}
        for role, route in setup.routes.items():
            entries = []
            for index, entry in enumerate(route):
                resolved = setup.providers[entry.provider]
                if not resolved.available:
                    raise ConfigError(
                        f"routes.{role}[{index}]: provider {entry.provider!r} has no API key; "
                        f"set {resolved.settings.key_variable()}"
                    )
                if entry.provider not in instances:
                    instances[entry.provider] = _instantiate(resolved, setup.record_cassette)
                try:
                    price = setup.prices.price(entry.model, metered=resolved.metered)
                except KeyError as exc:
                    raise ConfigError(f"routes.{role}[{index}].model: {exc.args[0]}") from None
                entries.append(RouteEntry(instances[entry.provider], entry.model, entry.max_failures, price))
            routes[role] = entries
        return cls(routes, banner=offline_banner(setup))


def _instantiate(resolved: ResolvedProvider, record_cassette: str | None) -> ModelProvider:
    settings = resolved.settings
    provider: ModelProvider
    if settings.kind == "scripted":
        assert resolved.cassette is not None
        return ScriptedProvider(resolved.cassette, name=resolved.name)
    if settings.kind == "anthropic":
        provider = AnthropicProvider(
            api_key=resolved.api_key or "",
            base_url=resolved.base_url,
            timeout_s=settings.timeout_s,
            name=resolved.name,
        )
    elif settings.kind == "openai":
        provider = OpenAIProvider(
            api_key=resolved.api_key,
            base_url=resolved.base_url,
            timeout_s=settings.timeout_s,
            name=resolved.name,
        )
    else:
        assert resolved.base_url is not None
        provider = OpenAICompatibleProvider(
            base_url=resolved.base_url,
            api_key=resolved.api_key,
            timeout_s=settings.timeout_s,
            name=resolved.name,
        )
    return RecordingProvider(provider, record_cassette) if record_cassette else provider
