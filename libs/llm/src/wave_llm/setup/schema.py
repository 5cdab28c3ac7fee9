"""The models file's schema: what `.wave/models.yml` may say, validated, with secrets kept out.

API keys are never read from the file: a provider names the environment variable that holds its key.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..model import AgentRole
from ..providers.openai import OPENAI_COMPATIBLE_PRESETS

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
