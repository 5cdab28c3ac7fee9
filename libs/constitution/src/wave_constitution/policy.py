"""The safety policy: verdict thresholds, the network egress allowlist, shared branches and size limits.

Its version string goes into every verdict. Unless a version is named explicitly it is derived from the
rule table (ids, principles, severities) and every setting, so two policies that score differently do not
share a version. RULESET_VERSION is raised when an analyzer's behaviour changes without a table change.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pydantic import Field
from wave_runtime.settings import EnvSettings, SettingError, read_settings

RULESET_VERSION = "1"

DEFAULT_EGRESS_ALLOWLIST: tuple[str, ...] = (
    "pypi.org",
    "files.pythonhosted.org",
    "registry.npmjs.org",
    "registry.yarnpkg.com",
    "proxy.golang.org",
    "sum.golang.org",
    "crates.io",
    "static.crates.io",
    "index.crates.io",
    "repo.maven.apache.org",
    "repo1.maven.org",
    "deb.debian.org",
    "security.debian.org",
    "github.com",
)

DEFAULT_SHARED_BRANCHES: tuple[str, ...] = (
    "main",
    "master",
    "develop",
    "development",
    "trunk",
    "production",
    "prod",
    "stable",
    "release",
    "release/*",
    "release-*",
)

ENV_ALLOW_THRESHOLD = "WAVE_SAFETY_ALLOW_THRESHOLD"
ENV_BLOCK_THRESHOLD = "WAVE_SAFETY_BLOCK_THRESHOLD"
ENV_EGRESS_ALLOWLIST = "WAVE_SAFETY_EGRESS_ALLOWLIST"
ENV_PUSH_REMOTES = "WAVE_SAFETY_PUSH_REMOTES"

_HOST = re.compile(
    r"^(?:\*\.)?(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)


class PolicyError(SettingError):
    """A policy setting is missing, malformed or inconsistent; the message names the setting."""


class SafetySettings(EnvSettings):
    """The WAVE_SAFETY_* variables, parsed; SafetyPolicy.from_env turns them into a policy."""

    model_config = {"env_prefix": "WAVE_SAFETY_"}

    allow_threshold: float | None = Field(None, ge=0.0, le=1.0)
    block_threshold: float | None = Field(None, ge=0.0, le=1.0)
    egress_allowlist: str | None = None  # comma-separated hosts; a leading '+' extends the default list
    push_remotes: str | None = None  # comma-separated remote URLs, paths or glob patterns


@dataclass(frozen=True)
class SafetyPolicy:
    """Scores at or above `allow_threshold` are allowed, below `block_threshold` blocked, escalated between."""

    allow_threshold: float = 0.7
    block_threshold: float = 0.3
    egress_allowlist: tuple[str, ...] = DEFAULT_EGRESS_ALLOWLIST
    shared_branches: tuple[str, ...] = DEFAULT_SHARED_BRANCHES
    max_binary_bytes: int = 1_000_000
    max_diff_bytes: int = 5_000_000
    push_remotes: tuple[str, ...] = ()  # glob patterns of remote URLs or paths; empty: any remote
    judge_weight: float = 0.5  # how much the judge's answer counts against the rules' score (docs/safety.md)
    version: str = field(default="")

    def __post_init__(self) -> None:
        for name in ("allow_threshold", "block_threshold", "judge_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise PolicyError(f"{name} must be a number between 0 and 1, got {value!r}")
        if self.block_threshold > self.allow_threshold:
            raise PolicyError(
                f"block_threshold ({self.block_threshold}) must not be above allow_threshold ({self.allow_threshold})"
            )
        object.__setattr__(self, "egress_allowlist", tuple(_valid_host(h) for h in self.egress_allowlist))
        if not all(isinstance(b, str) and b for b in self.shared_branches):
            raise PolicyError("shared_branches must be non-empty branch names or glob patterns")
        if not all(isinstance(r, str) and r.strip() for r in self.push_remotes):
            raise PolicyError("push_remotes must be non-empty remote URLs, paths or glob patterns")
        for name in ("max_binary_bytes", "max_diff_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise PolicyError(f"{name} must be a non-negative integer, got {value!r}")
        if not self.version:
            object.__setattr__(self, "version", self._derived_version())

    def _derived_version(self) -> str:
        from .rules import RULES  # the severities are part of what a version means

        settings: dict[str, object] = {k: v for k, v in asdict(self).items() if k != "version"}
        settings["rules"] = {rule.id: [str(rule.principle), rule.severity] for rule in RULES.values()}
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
        return f"rules-{RULESET_VERSION}/{digest}"

    def verdict_for(self, score: float) -> str:
        if score >= self.allow_threshold:
            return "allow"
        if score >= self.block_threshold:
            return "escalate"
        return "block"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SafetyPolicy:
        """Read the thresholds and the allowlist from the environment; unset variables keep the defaults.

        WAVE_SAFETY_EGRESS_ALLOWLIST is a comma-separated host list that replaces the default one;
        starting it with '+' adds the hosts to the default list instead.
        """
        settings = read_settings(SafetySettings, environ, error=PolicyError)
        kwargs: dict[str, object] = {}
        if settings.allow_threshold is not None:
            kwargs["allow_threshold"] = settings.allow_threshold
        if settings.block_threshold is not None:
            kwargs["block_threshold"] = settings.block_threshold
        allow = float(kwargs.get("allow_threshold", cls.allow_threshold))  # type: ignore[arg-type]
        block = float(kwargs.get("block_threshold", cls.block_threshold))  # type: ignore[arg-type]
        if block > allow:
            raise PolicyError(
                f"{ENV_BLOCK_THRESHOLD} ({block}) must not be above {ENV_ALLOW_THRESHOLD} ({allow})"
            )
        if settings.egress_allowlist is not None:
            kwargs["egress_allowlist"] = _parse_allowlist(settings.egress_allowlist)
        if settings.push_remotes is not None:
            remotes = tuple(r.strip() for r in settings.push_remotes.split(",") if r.strip())
            if not remotes:
                raise PolicyError(f"{ENV_PUSH_REMOTES} names no remote")
            kwargs["push_remotes"] = remotes
        return cls(**kwargs)  # type: ignore[arg-type]

    @classmethod
    def from_file(cls, path: str | Path) -> SafetyPolicy:
        """A policy from a TOML file holding any of allow_threshold, block_threshold, egress_allowlist,
        shared_branches, max_binary_bytes, max_diff_bytes, push_remotes (lists for the three lists); the others keep
        their defaults. An unknown key or a bad value is an error naming the file."""
        try:
            document = tomllib.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise PolicyError(f"{path}: {exc}") from None
        known = {f for f in cls.__dataclass_fields__ if f != "version"}
        unknown = sorted(set(document) - known)
        if unknown:
            raise PolicyError(f"{path}: unknown setting {unknown[0]!r}; expected one of {', '.join(sorted(known))}")
        for name in ("egress_allowlist", "shared_branches", "push_remotes"):
            if name in document:
                if not isinstance(document[name], list):
                    raise PolicyError(f"{path}: {name} must be a list")
                document[name] = tuple(document[name])
        try:
            return cls(**document)
        except PolicyError as exc:
            raise PolicyError(f"{path}: {exc}") from None

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for entry in self.egress_allowlist:
            base = entry[2:] if entry.startswith("*.") else entry
            if host == base or host.endswith("." + base):
                return True
        return False


def _parse_allowlist(raw: str) -> tuple[str, ...]:
    extend = raw.lstrip().startswith("+")
    entries = [part.strip().lower() for part in raw.strip().lstrip("+").split(",")]
    hosts: list[str] = []
    for entry in entries:
        if not entry:
            continue
        try:
            hosts.append(_valid_host(entry))
        except PolicyError:
            raise PolicyError(
                f"{ENV_EGRESS_ALLOWLIST} holds {entry!r}, which is not a host name (expected e.g. 'pypi.org' or '*.example.com')"
            ) from None
    if not hosts:
        raise PolicyError(f"{ENV_EGRESS_ALLOWLIST} names no host")
    return (*DEFAULT_EGRESS_ALLOWLIST, *hosts) if extend else tuple(hosts)


def _valid_host(host: object) -> str:
    if not isinstance(host, str) or not _HOST.match(host.lower()):
        raise PolicyError(f"egress allowlist entry {host!r} is not a host name")
    return host.lower()
