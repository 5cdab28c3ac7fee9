"""The models configuration: a file (YAML or TOML) plus the environment, validated, with secrets kept out.

API keys are never read from the file: a provider names the environment variable that holds its key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError
from .model import ROLES, AgentRole
from .pricing import Price, PriceTable
from .providers.openai import OPENAI_COMPATIBLE_PRESETS

CONFIG_ENV = "WAVE_MODELS_CONFIG"
CASSETTE_ENV = "WAVE_SCRIPTED_CASSETTE"
RECORD_ENV = "WAVE_RECORD_CASSETTE"
DEFAULT_CONFIG_PATHS = (".wave/models.yml", ".wave/models.yaml", ".wave/models.toml")
DEFAULT_CASSETTE = ".wave/cassette.yml"

ProviderKind = Literal["anthropic", "openai", "openai_compatible", "scripted"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProviderSettings(_Strict):
    kind: ProviderKind
    preset: Literal["xai", "ollama", "vllm"] | None = None
    base_url: str | None = None
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    base_url_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    timeout_s: float = Field(default=60.0, gt=0, le=3600)
    cassette: str | None = None
    metered: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict) and "api_key" in data:
            raise ValueError(
                "API keys do not belong in the config file: name the variable with `api_key_env`"
            )
        return data

    @model_validator(mode="after")
    def _complete(self) -> ProviderSettings:
        if self.kind == "openai_compatible" and self.preset is None and self.base_url is None:
            raise ValueError("an openai_compatible provider needs `preset` (xai, ollama, vllm) or `base_url`")
        if self.kind != "openai_compatible" and self.preset is not None:
            raise ValueError(f"`preset` applies to openai_compatible providers, not {self.kind}")
        if self.kind != "scripted" and self.cassette is not None:
            raise ValueError("`cassette` applies to scripted providers only")
        return self

    def key_variable(self) -> str | None:
        if self.api_key_env:
            return self.api_key_env
        if self.kind == "anthropic":
            return "ANTHROPIC_API_KEY"
        if self.kind == "openai":
            return "OPENAI_API_KEY"
        if self.preset:
            return OPENAI_COMPATIBLE_PRESETS[self.preset].api_key_env
        return None

    def url_variable(self) -> str | None:
        if self.base_url_env:
            return self.base_url_env
        if self.kind == "anthropic":
            return "ANTHROPIC_BASE_URL"
        if self.kind == "openai":
            return "OPENAI_BASE_URL"
        if self.preset:
            return OPENAI_COMPATIBLE_PRESETS[self.preset].base_url_env
        return None

    def is_metered(self) -> bool:
        if self.metered is not None:
            return self.metered
        if self.kind == "scripted":
            return False
        if self.preset:
            return OPENAI_COMPATIBLE_PRESETS[self.preset].metered
        return True


class RouteEntrySettings(_Strict):
    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    max_failures: int = Field(default=2, ge=1, le=100)


class PriceSettings(_Strict):
    input: float = Field(ge=0)
    output: float = Field(ge=0)


class RetrySettings(_Strict):
    max_attempts: int = Field(default=3, ge=1, le=10)
    base_delay_s: float = Field(default=0.5, ge=0, le=60)
    max_delay_s: float = Field(default=30.0, ge=0, le=600)


class ModelsFile(_Strict):
    """The document in `.wave/models.yml` (or the file WAVE_MODELS_CONFIG names)."""

    version: Literal[1] = 1
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    routes: dict[AgentRole, tuple[RouteEntrySettings, ...]] = Field(default_factory=dict)
    prices: dict[str, PriceSettings] = Field(default_factory=dict)
    retry: RetrySettings = RetrySettings()
    max_tokens: int = Field(default=4096, ge=1, le=1_000_000)
    inline_limit_bytes: int = Field(default=16 * 1024, ge=0, le=1024 * 1024)
    blobs_dir: str = ".wave/blobs"
    failure_cooldown_s: float = Field(default=300.0, ge=0)
    record_cassette: str | None = None


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


def find_config_file(env: Mapping[str, str], cwd: Path) -> Path | None:
    if named := env.get(CONFIG_ENV):
        path = Path(named)
        path = path if path.is_absolute() else cwd / path
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV} names {path}, which does not exist")
        return path
    return next((cwd / p for p in DEFAULT_CONFIG_PATHS if (cwd / p).is_file()), None)


def parse_models_file(path: Path) -> ModelsFile:
    text = path.read_text(encoding="utf-8")
    try:
        document = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot be parsed: {exc}") from None
    return validate_models_document(document or {}, source=str(path))


def validate_models_document(document: Any, *, source: str) -> ModelsFile:
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    try:
        return ModelsFile.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            location = tuple(error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            if location and location[-1] == "[key]":
                location, message = location[:-1], f"not an allowed name: {message}"
            problems.append(f"{_key_path(location)}: {message}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None


def _key_path(location: tuple[Any, ...]) -> str:
    parts = [
        f"[{item}]" if isinstance(item, int) else ("." if i else "") + str(item)
        for i, item in enumerate(location)
    ]
    return "".join(parts) or "(top level)"


def load_models_setup(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> ModelsSetup:
    """Read the config file (the given path, else WAVE_MODELS_CONFIG, else `.wave/models.yml` if present) and
    the environment, and resolve what every role will call."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else Path(cwd)
    file_path = Path(path) if path is not None else find_config_file(env, cwd)
    if file_path is not None and not file_path.is_file():
        raise ConfigError(f"models config {file_path} does not exist")
    models_file = parse_models_file(file_path) if file_path is not None else ModelsFile()
    source = str(file_path) if file_path is not None else "built-in defaults"
    return resolve(models_file, env=env, cwd=cwd, source=source)


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


def mask(secret: str | None) -> str:
    """A secret as it may be shown: only whether it is set and its last four characters."""
    if not secret:
        return "(not set)"
    return "****" + secret[-4:] if len(secret) >= 16 else "****"


def offline_banner(setup: ModelsSetup) -> str | None:
    if not setup.offline:
        return None
    return "offline: scripted model responses from " + ", ".join(setup.cassettes())


def describe_setup(setup: ModelsSetup) -> dict[str, Any]:
    """The effective model configuration for `wave config`, with every secret masked."""
    routes = []
    for role, route in setup.routes.items():
        for order, entry in enumerate(route, start=1):
            provider = setup.providers[entry.provider]
            price = setup.prices.lookup(entry.model)
            routes.append(
                {
                    "role": role,
                    "order": order,
                    "provider": entry.provider,
                    "kind": provider.settings.kind,
                    "model": entry.model,
                    "max_failures": entry.max_failures,
                    "base_url": provider.base_url,
                    "api_key": mask(provider.api_key)
                    if provider.settings.key_variable()
                    else "(none needed)",
                    "available": provider.available,
                    "usd_per_mtok_input": price.input_per_mtok if price else None,
                    "usd_per_mtok_output": price.output_per_mtok if price else None,
                }
            )
    providers = [
        {
            "name": p.name,
            "kind": p.settings.kind,
            "base_url": p.base_url,
            "api_key_env": p.settings.key_variable(),
            "api_key": mask(p.api_key) if p.settings.key_variable() else "(none needed)",
            "available": p.available,
            "metered": p.metered,
            "timeout_s": p.settings.timeout_s,
            **({"cassette": p.cassette} if p.cassette else {}),
        }
        for p in setup.providers.values()
    ]
    retry = setup.file.retry
    return {
        "source": setup.source,
        "offline": setup.offline,
        "banner": offline_banner(setup),
        "record_cassette": setup.record_cassette,
        "routes": routes,
        "providers": providers,
        "retry": retry.model_dump(),
        "prices": setup.prices.as_dict(),
    }
