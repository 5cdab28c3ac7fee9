"""The facade agents call: route, guard the budget, retry, fall back, and record what happened."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError
from wave_events.base import DomainEvent
from wave_store.paid import current_paid_results

from .blobs import BlobStore, FileBlobStore
from .budget import CallEstimate, Refusal, RunBudget, check_call, estimate_call, threshold_events
from .cassette import Cassette
from .errors import ModelError, PermanentModelError, TransientModelError
from .metrics import record_call
from .model import ROLES, Message, ModelRequest, ModelResponse, ToolSpec
from .pricing import Price
from .providers import ScriptedProvider
from .records import CallRecorder, budget_charged
from .reservations import current_shared_budget, current_task
from .retry import RetryPolicy, Sleep, call_with_retries
from .routing import RouteEntry, Router
from .runplay import current_run_play
from .setup import ModelsSetup


class CallResult(NamedTuple):
    response: ModelResponse
    events: list[DomainEvent]


class BudgetExhausted(Exception):
    """The call was not made: it would pass the run's budget. The caller emits `exceeded_event` and escalates.

    `needed`, `used` and `limit` are in the unit of the limit that would be passed (`dimension`: usd or tokens).
    `events` holds the records of attempts made before the refusal (failed entries earlier in the route).
    """

    def __init__(self, role: str, refusal: Refusal, events: Sequence[DomainEvent] = ()) -> None:
        self.role = role
        self.refusal = refusal
        self.dimension = refusal.dimension
        self.needed = refusal.needed
        self.used = refusal.used
        self.limit = refusal.limit
        self.events = list(events)
        unit = "USD" if refusal.dimension == "usd" else "tokens"
        super().__init__(
            f"{role}: the call needs up to {_figure(self.needed)} {unit} but the run has used "
            f"{_figure(self.used)} of its {_figure(self.limit)} {unit}"
        )

    @property
    def exceeded_event(self) -> DomainEvent:
        return self.refusal.exceeded_event(self.role)


def _figure(value: float) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


class ModelCallFailed(ModelError):
    """Every entry of the role's route failed. `events` records each attempt; `errors` are the failures."""

    def __init__(self, role: str, errors: Sequence[BaseException], events: Sequence[DomainEvent]) -> None:
        self.role = role
        self.errors = list(errors)
        self.events = list(events)
        summary = "; ".join(str(e) for e in errors) or "no route entry was tried"
        super().__init__(f"{role}: every model in the route failed: {summary}", provider="router")


MessagesInput = str | Iterable[Message | Mapping[str, Any]]


class ModelClient:
    """Calls models for agent roles.

    For each call, the role's route is walked in order. An entry is asked again after a failure until it has
    failed `max_failures` times in a row (counted per role and entry for the life of this client; an answer
    resets the count); then the client moves on to the next entry. A permanent failure (bad request, bad key)
    moves on at once. An entry that reached its threshold is skipped by later calls for `failure_cooldown_s`,
    unless every entry of the route is in that state. Transient failures are retried inside one attempt by
    `wave_llm.retry`, the same way for every provider.
    """

    def __init__(
        self,
        router: Router,
        *,
        blobs: BlobStore,
        retry: RetryPolicy | None = None,
        default_max_tokens: int = 4096,
        inline_limit: int = 16 * 1024,
        failure_cooldown_s: float = 300.0,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if default_max_tokens < 1:
            raise ValueError(f"default_max_tokens must be at least 1, got {default_max_tokens}")
        self.router = router
        self.retry = retry or RetryPolicy()
        self.default_max_tokens = default_max_tokens
        self.failure_cooldown_s = failure_cooldown_s
        self._recorder = CallRecorder(blobs, inline_limit=inline_limit)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock
        self._failures: dict[tuple[str, int], int] = {}
        self._tripped_at: dict[tuple[str, int], float] = {}

    @classmethod
    def from_setup(
        cls, setup: ModelsSetup, *, cwd: str | Path | None = None, **overrides: Any
    ) -> ModelClient:
        root = Path.cwd() if cwd is None else Path(cwd)
        blobs_dir = Path(setup.file.blobs_dir)
        retry = setup.file.retry
        arguments: dict[str, Any] = {
            "blobs": FileBlobStore(blobs_dir if blobs_dir.is_absolute() else root / blobs_dir),
            "retry": RetryPolicy(retry.max_attempts, retry.base_delay_s, retry.max_delay_s),
            "default_max_tokens": setup.file.max_tokens,
            "inline_limit": setup.file.inline_limit_bytes,
            "failure_cooldown_s": setup.file.failure_cooldown_s,
        }
        return cls(Router.from_setup(setup), **{**arguments, **overrides})

    @property
    def offline(self) -> bool:
        return self.router.offline

    @property
    def banner(self) -> str | None:
        return self.router.banner

    def consecutive_failures(self, role: str, entry_index: int) -> int:
        return self._failures.get((role, entry_index), 0)

    async def complete(
        self,
        role: str,
        system: str,
        messages: MessagesInput,
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        tools: Iterable[ToolSpec | Mapping[str, Any]] = (),
        budget: RunBudget | None = None,
    ) -> CallResult:
        """Ask the role's route for an answer.

        Returns the answer and the events to append: an `LLMCallRecorded` per attempt (failed ones included),
        then `BudgetCharged` and any `BudgetThresholdCrossed`. Raises `BudgetExhausted` before any request
        would pass `budget`, and `ModelCallFailed` when every entry failed.
        """
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        route = self.router.route(role)
        play = current_run_play()
        if play is not None and play.cassette is not None and not _holds(route, play.cassette_sha256):
            # The run carries its own cassette: it plays that, whatever models this service has (a
            # process holding the same cassette file plays its own copy: the stored one is redacted).
            route = (RouteEntry(_run_provider(play.cassette), "scripted", 1, Price(0.0, 0.0)),)
        try:
            template = ModelRequest(
                role=role,  # type: ignore[arg-type]
                model=route[0].model,
                system=system,
                messages=_messages(messages),  # type: ignore[arg-type]
                max_tokens=max_tokens if max_tokens is not None else self.default_max_tokens,
                temperature=temperature,
                tools=tuple(t if isinstance(t, ToolSpec) else ToolSpec.model_validate(t) for t in tools),
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"invalid model request for {role}: {where}: {first['msg']}") from None

        # A paid answer is kept as soon as it arrives, so a handling decided again (after a crash
        # before it was recorded, too) is given it instead of paying for it twice. A scripted answer
        # costs nothing and plays the same again: it is not kept.
        paid = None if all(isinstance(e.provider, ScriptedProvider) for e in route) else current_paid_results()
        key = paid.key("model", template.model_dump_json(exclude={"model"})) if paid is not None else None
        if key is not None and (kept := await paid.recall(key)) is not None:
            answered = await self._answered_before(template, kept, budget)
            if answered is not None:
                return answered

        events: list[DomainEvent] = []
        errors: list[BaseException] = []
        for index in self._order(role, route):
            entry = route[index]
            request = template.model_copy(update={"model": entry.model})
            while True:
                shared, lane = current_shared_budget(), current_task() or ""
                estimate = estimate_call(request, entry.price)
                if budget is not None and shared is not None:
                    # Concurrent calls of the run reserve their worst case first (`wave_llm.reservations`).
                    _, refusal = await shared.reserve(lane, budget, estimate)
                    if refusal is not None:
                        raise BudgetExhausted(role, refusal, events)
                elif budget is not None and (refusal := check_call(budget, estimate)):
                    raise BudgetExhausted(role, refusal, events)
                started = time.perf_counter()
                try:
                    response = await call_with_retries(
                        entry.provider.complete, request, self.retry, rng=self._rng, sleep=self._sleep
                    )
                except BaseException as exc:
                    if budget is not None and shared is not None:
                        shared.release(lane, estimate)
                    if not isinstance(exc, (TransientModelError, PermanentModelError)):
                        raise
                    latency_ms = (time.perf_counter() - started) * 1000
                    events.append(await self._recorder.failed(request, entry.provider.name, exc, latency_ms))
                    errors.append(exc)
                    if self._count_failure(
                        role, index, entry, permanent=isinstance(exc, PermanentModelError)
                    ):
                        break
                    continue
                cost = entry.price.cost(response.input_tokens, response.output_tokens)
                if key is not None and not isinstance(entry.provider, ScriptedProvider):
                    await paid.keep(key, _paid_answer(entry.model, response, cost))
                self._failures.pop((role, index), None)
                self._tripped_at.pop((role, index), None)
                record_call(role, response, cost)
                events.append(await self._recorder.answered(request, response, cost))
                events.append(budget_charged(response, cost))
                if budget is not None and shared is not None:
                    shared.settle(lane, estimate, response.total_tokens, cost)
                    events.extend(threshold_events(shared.announce(lane, budget.charged(response.total_tokens, cost))))
                elif budget is not None:
                    events.extend(threshold_events(budget.charged(response.total_tokens, cost)))
                return CallResult(response, events)
        raise ModelCallFailed(role, errors, events)

    async def _answered_before(self, template: ModelRequest, kept: str, budget: RunBudget | None) -> CallResult | None:
        """The call's result from an answer kept by an earlier attempt of this handling: recorded and
        charged as it was then (that attempt's records were never stored). None if it does not read."""
        try:
            document = json.loads(kept)
            response = ModelResponse.model_validate(document["response"])
            model, cost = str(document["model"]), float(document["cost_usd"])
        except (ValueError, KeyError, TypeError, ValidationError):
            return None
        request = template.model_copy(update={"model": model})
        events: list[DomainEvent] = [await self._recorder.answered(request, response, cost), budget_charged(response, cost)]
        shared = current_shared_budget()
        if budget is not None and shared is not None:
            # Paid already, not stored yet: the handling's later calls count it as spent.
            shared.settle(current_task() or "", CallEstimate(0, 0.0), response.total_tokens, cost)
        if budget is not None:
            events.extend(threshold_events(budget.charged(response.total_tokens, cost)))
        return CallResult(response, events)

    def _order(self, role: str, route: Sequence[RouteEntry]) -> list[int]:
        now = self._clock()
        usable = [
            i
            for i in range(len(route))
            if (tripped := self._tripped_at.get((role, i))) is None
            or now - tripped >= self.failure_cooldown_s
        ]
        return usable or list(range(len(route)))

    def _count_failure(self, role: str, index: int, entry: RouteEntry, *, permanent: bool) -> bool:
        """Count one failure; True when the entry has reached its threshold and the route moves on."""
        key = (role, index)
        count = entry.max_failures if permanent else self._failures.get(key, 0) + 1
        self._failures[key] = count
        if count >= entry.max_failures:
            self._tripped_at[key] = self._clock()
            return True
        return False

    async def aclose(self) -> None:
        await self.router.aclose()


def _paid_answer(model: str, response: ModelResponse, cost_usd: float) -> str:
    return json.dumps({"model": model, "response": response.model_dump(mode="json"), "cost_usd": cost_usd})


def _holds(route: Sequence[RouteEntry], sha256: str) -> bool:
    return any(isinstance(e.provider, ScriptedProvider) and e.provider.plays(sha256) for e in route)


_RUN_PROVIDERS: dict[int, tuple[Cassette, ScriptedProvider]] = {}


def _run_provider(cassette: Cassette) -> ScriptedProvider:
    """One provider per run cassette (parsed once per text by `runplay.run_cassette`, so one object)."""
    known = _RUN_PROVIDERS.get(id(cassette))
    if known is None or known[0] is not cassette:
        if len(_RUN_PROVIDERS) >= 64:
            _RUN_PROVIDERS.clear()
        known = _RUN_PROVIDERS[id(cassette)] = (cassette, ScriptedProvider.playing(cassette, name="scripted"))
    return known[1]


def _messages(messages: MessagesInput) -> tuple[Message | dict[str, Any], ...]:
    """Messages as given; plain mappings are validated by `ModelRequest`, so errors name their index."""
    if isinstance(messages, str):
        return (Message(role="user", content=messages),)
    return tuple(m if isinstance(m, Message) else dict(m) for m in messages)
