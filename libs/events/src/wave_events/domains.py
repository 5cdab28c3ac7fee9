"""Domains and their policies: which part of a repository a task belongs to, and how strictly it is
handled there. Pure: parsing text and matching paths, no I/O.

A domain table is trusted configuration: the target branch's `.wave/domains.toml` (read at the commit
the run is planned from, never from a commit a run produced), or a file the operator names
(`wave run --domain-policy`, `wave fork --domain-policy`). Without either, `DEFAULT_TABLE` holds the six
domains every repository starts with. The table in effect is recorded in the run's `PlanCreated`, so
every service (and every replay) applies the same policy whatever files change later.

    [[domain]]
    name = "payments"
    paths = ["**/payments/**", "**/billing/**"]
    merge_policy = "human"        # auto | model | human: human = a person approves each task's change
    allow_threshold = 0.9         # safety: scores at or above are allowed
    block_threshold = 0.5         #         below are blocked; escalated between
    retry_limit = 2               # fix attempts after failed tests
    budget_share = 0.5            # of the run's budget, for this domain's tasks' model calls
    approvers = ["ana"]           # who may approve its reviews (empty: any approver)
    delivery = "pr"               # local | pr: a run with its tasks, submitted without --delivery

A task touching files of two domains takes the stricter policy of the two (`strictest`).
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DomainMergePolicy = Literal["auto", "model", "human"]
DomainDelivery = Literal["local", "pr"]
MERGE_STRICTNESS: dict[str, int] = {"auto": 0, "model": 1, "human": 2}
DOMAINS_FILE = ".wave/domains.toml"
GENERAL = "general"  # the domain of a task no table entry claims: the run's own settings apply
DomainName = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")


class DomainPolicyError(ValueError):
    """A domain table cannot be used; the message is one line naming the file and the problem."""


class DomainPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str = DomainName
    paths: tuple[str, ...] = ()
    merge_policy: DomainMergePolicy = "auto"
    allow_threshold: float = Field(default=0.7, ge=0, le=1)
    block_threshold: float = Field(default=0.3, ge=0, le=1)
    retry_limit: int = Field(default=3, ge=0, le=20)
    budget_share: float = Field(default=1.0, gt=0, le=1)
    approvers: tuple[str, ...] = ()
    delivery: DomainDelivery | None = None  # how a run with its tasks is delivered when `wave run` names none

    @field_validator("paths", "approvers")
    @classmethod
    def _not_blank(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not item.strip() for item in value):
            raise ValueError("entries must not be empty")
        return value

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> DomainPolicy:
        if self.block_threshold > self.allow_threshold:
            raise ValueError(
                f"block_threshold ({self.block_threshold}) must not be above allow_threshold ({self.allow_threshold})"
            )
        return self


class DomainTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    domains: tuple[DomainPolicy, ...] = Field(min_length=1)
    source: str = "defaults"  # where it was read: "defaults", ".wave/domains.toml@<commit>", a file name

    @field_validator("domains")
    @classmethod
    def _unique_names(cls, value: tuple[DomainPolicy, ...]) -> tuple[DomainPolicy, ...]:
        seen: set[str] = set()
        for domain in value:
            if domain.name in seen:
                raise ValueError(f"domain {domain.name!r} is defined twice")
            seen.add(domain.name)
        return value

    def get(self, name: str) -> DomainPolicy | None:
        return next((d for d in self.domains if d.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.domains)


DEFAULT_TABLE = DomainTable(
    domains=(
        DomainPolicy(
            name="auth", paths=("**/auth/**", "**/auth.*", "**/*auth*.py", "**/login*", "**/session*"),
            merge_policy="human", allow_threshold=0.85, block_threshold=0.5, retry_limit=2, budget_share=0.5,
        ),
        DomainPolicy(
            name="payments", paths=("**/payments/**", "**/payment*", "**/billing/**", "**/invoice*"),
            merge_policy="human", allow_threshold=0.9, block_threshold=0.5, retry_limit=2, budget_share=0.5,
        ),
        DomainPolicy(name="profile", paths=("**/profile/**", "**/profile*", "**/users/**", "**/account*")),
        DomainPolicy(name="api", paths=("**/api/**", "**/routes/**", "**/handlers/**", "**/*_api.py")),
        DomainPolicy(name="ui", paths=("**/ui/**", "**/web/**", "**/*.html", "**/*.css", "**/*.tsx", "**/*.jsx")),
        DomainPolicy(name="data", paths=("**/data/**", "**/migrations/**", "**/models/**", "**/*.sql")),
    ),
)


def parse_table(text: str, source: str) -> DomainTable:
    """A table from TOML text (`[[domain]]` entries); a problem is one line naming `source`."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DomainPolicyError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(document) - {"domain"})
    if unknown:
        raise DomainPolicyError(f"{source}: unknown key {unknown[0]!r}; a domain table holds [[domain]] entries")
    entries = document.get("domain")
    if not isinstance(entries, list) or not entries:
        raise DomainPolicyError(f"{source}: no [[domain]] entry")
    policies = []
    for index, entry in enumerate(entries, 1):
        name = entry.get("name") if isinstance(entry, dict) else None
        label = f"domain {name!r}" if isinstance(name, str) and name else f"domain #{index}"
        try:
            policies.append(DomainPolicy.model_validate(entry))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            message = first["msg"].removeprefix("Value error, ")
            if first["type"] == "extra_forbidden":
                message = "is not a domain setting"
            raise DomainPolicyError(f"{source}: {label}: {where + ': ' if where else ''}{message}") from None
    try:
        return DomainTable(domains=tuple(policies), source=source)
    except ValidationError as exc:
        raise DomainPolicyError(f"{source}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None


def table_from_json(document: str) -> DomainTable | None:
    return DomainTable.model_validate_json(document) if document else None


@lru_cache(maxsize=4096)
def _pattern(glob: str) -> re.Pattern[str]:
    # `**/` matches any number of directories, none included; `*` stays within one path segment.
    regex = ""
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            regex += "(?:.*/)?"
            i += 3
        elif glob.startswith("**", i):
            regex += ".*"
            i += 2
        else:
            part = glob[i]
            regex += "[^/]*" if part == "*" else "[^/]" if part == "?" else re.escape(part)
            i += 1
    return re.compile(f"^{regex}$")


def matches(glob: str, path: str) -> bool:
    return bool(_pattern(glob).match(path)) or fnmatch.fnmatchcase(path, glob) and "/" not in glob


def domains_of_paths(table: DomainTable, paths: Iterable[str]) -> tuple[str, ...]:
    """The domains whose globs match any of `paths`, in table order."""
    wanted = list(paths)
    return tuple(d.name for d in table.domains if any(matches(g, p) for g in d.paths for p in wanted))


def assign(table: DomainTable, proposed: str, paths: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    """The domain a task belongs to and every domain it touches. The model's proposal stands when the
    table knows it and the paths do not say otherwise; the paths decide when it is unknown or wrong;
    with neither, the proposal is kept (a domain of no policy: the run's own settings apply). Of two
    domains touched, the governing one is the stricter."""
    touched = domains_of_paths(table, paths)
    if not touched:
        return proposed or GENERAL, ((proposed,) if table.get(proposed) is not None else ())
    names = (proposed, *[n for n in touched if n != proposed]) if proposed in touched else touched
    governing = strictest([p for p in (table.get(n) for n in names) if p is not None])
    assert governing is not None
    return governing.name, names


def strictest(policies: Sequence[DomainPolicy]) -> DomainPolicy | None:
    """One policy as strict as all of `policies` together: the strictest merge policy, the highest
    thresholds, the lowest retry limit and budget share, the approvers every one of them accepts (the
    approvers of the first domain that names any, narrowed by the others). Named after the domain
    whose merge policy is strictest (the first one on a tie)."""
    if not policies:
        return None
    if len(policies) == 1:
        return policies[0]
    named = max(policies, key=lambda p: (MERGE_STRICTNESS[p.merge_policy], -policies.index(p)))
    approvers: tuple[str, ...] = ()
    for policy in policies:
        if policy.approvers:
            approvers = policy.approvers if not approvers else tuple(a for a in approvers if a in policy.approvers)
    return DomainPolicy(
        name=named.name,
        paths=tuple(dict.fromkeys(g for p in policies for g in p.paths)),
        merge_policy=named.merge_policy,
        allow_threshold=max(p.allow_threshold for p in policies),
        block_threshold=max(p.block_threshold for p in policies),
        retry_limit=min(p.retry_limit for p in policies),
        budget_share=min(p.budget_share for p in policies),
        approvers=approvers,
        delivery=delivery_of(policies),
    )


def delivery_of(policies: Iterable[DomainPolicy | None]) -> DomainDelivery | None:
    """The delivery the domains ask for: `pr` when any of them says so (a person sees the change on the
    git host before it lands), `local` when one says `local` and none `pr`, None when none says."""
    asked = {p.delivery for p in policies if p is not None and p.delivery is not None}
    return "pr" if "pr" in asked else "local" if asked else None


def stricter_merge_policy(a: str, b: str) -> str:
    return a if MERGE_STRICTNESS.get(a, 0) >= MERGE_STRICTNESS.get(b, 0) else b


def may_approve(policy: DomainPolicy | None, who: str) -> bool:
    """Whether `who` (a decision's `decided_by`, e.g. "ana" or "ana (approver)") may approve for the
    domain: anyone when it names no approvers."""
    if policy is None or not policy.approvers:
        return True
    name = who.split(" (", 1)[0].strip()
    return name in policy.approvers
