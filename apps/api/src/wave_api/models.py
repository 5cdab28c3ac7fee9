"""The request and response bodies of the API, as pydantic models (and so in the OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["viewer", "approver", "admin"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """Every refusal: one line saying what is wrong."""

    detail: str


class PendingEscalation(BaseModel):
    escalation_id: str
    kind: str
    reason: str
    options: list[str]


class RunSummary(BaseModel):
    run_id: str
    status: str
    title: str = Field(description="the story's first line")
    repo: str
    target_branch: str
    gates: dict[str, bool]
    cost_usd: float
    tokens_used: int
    retries: int
    pending_escalations: list[PendingEscalation]
    error: str | None = Field(None, description="why an unreadable run cannot be read")
    last_event_at: str


class RunPage(BaseModel):
    runs: list[RunSummary]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null on the last")


class RunCreate(Strict):
    """The fields and checks of `wave run`; the models are the server's own."""

    story: str = Field(min_length=1, max_length=200_000)
    repo: str = Field(min_length=1, max_length=4096, description="a local path on the server, or a git URL")
    target_branch: str | None = Field(None, max_length=255, description="default: the repository's current branch")
    budget_usd: float = Field(5.0, ge=0, allow_inf_nan=False, le=1e9)
    budget_tokens: int = Field(2_000_000, ge=0, le=10**12)
    max_retries: int = Field(3, ge=0, le=20)
    merge_policy: Literal["auto", "model", "human"] = "auto"
    merge_strategy: Literal["squash", "merge", "ff"] = "squash"
    delivery: Literal["local", "pr"] | None = Field(
        None, description="local: merged in the repository; pr: through a pull request on the git host; "
        "none: pr when a domain of the plan says so, else local"
    )


class RunCreated(BaseModel):
    run_id: str
    status: str


class RunStateDocument(BaseModel):
    """What `wave status --json` prints: the run's whole folded state."""

    model_config = ConfigDict(extra="allow")

    run_id: str
    status: str
    version: int
    gates: dict[str, bool]


class Event(BaseModel):
    """One stored event: its envelope and payload."""

    event_id: str
    type: str
    version: int
    stream_id: str
    stream_version: int | None
    global_position: int | None
    occurred_at: str
    correlation_id: str
    causation_id: str | None
    producer: str
    traceparent: str | None
    payload: dict[str, Any]


class EventList(BaseModel):
    events: list[Event]


class DecisionRequest(Strict):
    escalation_id: str | None = Field(None, max_length=300, description="which question; default: the only one pending")
    decision: Literal["approve", "reject"]
    comment: str = Field("", max_length=4000)


class DecisionRecorded(BaseModel):
    run_id: str
    event_id: str
    escalation_id: str
    decision: str
    decided_by: str
    comment: str


class BudgetRequest(Strict):
    usd: float | None = Field(None, ge=0, le=1e9, allow_inf_nan=False, description="the new limit in USD")
    tokens: int | None = Field(None, ge=0, le=10**12, description="the new token limit")
    force: bool = Field(False, description="change the budget of a run that is not stopped for budget")


class BudgetRecorded(BaseModel):
    run_id: str
    event_id: str
    limit_usd: float
    limit_tokens: int
    raised_by: str


class CancelRequest(Strict):
    reason: str = Field("", max_length=4000)


class CancelRecorded(BaseModel):
    run_id: str
    event_id: str
    cancelled_by: str
    reason: str


class ReplayCheck(BaseModel):
    against: str
    differences: list[str]


class ReplayResult(BaseModel):
    run_id: str
    events: int
    consistent: bool
    checks: list[ReplayCheck]


class SessionRequest(Strict):
    token: str = Field(min_length=1, max_length=200)


class SessionInfo(BaseModel):
    csrf_token: str = Field(description="send it back in X-CSRF-Token on POST, PUT and DELETE")
    name: str
    role: Role


class Who(BaseModel):
    name: str
    role: Role


class TokenCreate(Strict):
    name: str = Field(min_length=1, max_length=64)
    role: Role


class TokenInfo(BaseModel):
    name: str
    role: Role
    created_at: str


class TokenCreated(TokenInfo):
    token: str = Field(description="shown once: only its hash is stored")


class TokenList(BaseModel):
    tokens: list[TokenInfo]


class Health(BaseModel):
    status: str


class SlackReply(BaseModel):
    response_type: Literal["ephemeral", "in_channel"] = "ephemeral"
    replace_original: bool = False
    text: str
