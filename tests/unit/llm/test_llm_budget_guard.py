"""The budget guard decides before a call whether it may be made, and after it which warnings are due."""

import pytest
from wave_events.catalogue import BudgetThresholdCrossed
from wave_events.projections.run_state import RunState
from wave_llm import (
    CallEstimate,
    Message,
    ModelRequest,
    Price,
    RunBudget,
    check_call,
    estimate_call,
    newly_crossed,
)
from wave_llm.budget import threshold_events


@pytest.mark.parametrize(
    ("budget", "estimate", "refused_on"),
    [
        (RunBudget(limit_usd=1.0, limit_tokens=10_000), CallEstimate(tokens=5_000, usd=0.5), None),
        (
            RunBudget(limit_usd=1.0, limit_tokens=10_000, used_usd=0.5, used_tokens=5_000),
            CallEstimate(5_000, 0.5),
            None,
        ),
        (
            RunBudget(limit_usd=1.0, limit_tokens=10_000, used_usd=0.6),
            CallEstimate(tokens=100, usd=0.5),
            "usd",
        ),
        (
            RunBudget(limit_usd=1.0, limit_tokens=10_000, used_tokens=9_950),
            CallEstimate(tokens=100, usd=0.01),
            "tokens",
        ),
        (RunBudget(limit_usd=0.0, limit_tokens=10_000), CallEstimate(tokens=100, usd=0.0), None),
        (RunBudget(limit_usd=0.0, limit_tokens=10_000), CallEstimate(tokens=100, usd=0.0001), "usd"),
        (RunBudget(limit_usd=5.0, limit_tokens=0), CallEstimate(tokens=1, usd=0.0), "tokens"),
    ],
)
def test_a_call_is_refused_when_it_could_pass_a_limit(budget, estimate, refused_on):
    refusal = check_call(budget, estimate)
    assert (refusal.dimension if refusal else None) == refused_on


def test_a_refusal_names_what_is_needed_used_and_allowed():
    budget = RunBudget(limit_usd=2.0, limit_tokens=100_000, used_usd=1.8, used_tokens=40_000)
    refusal = check_call(budget, CallEstimate(tokens=3_000, usd=0.25))
    assert (refusal.needed, refusal.used, refusal.limit) == (0.25, 1.8, 2.0)
    event = refusal.exceeded_event("fixer")
    assert (event.role, event.needed_tokens, event.used_tokens, event.limit_tokens) == (
        "fixer",
        3_000,
        40_000,
        100_000,
    )


@pytest.mark.parametrize(
    ("used_usd", "used_tokens", "warned", "expected"),
    [
        (0.0, 0, (), ()),
        (7.4, 0, (), ()),
        (7.5, 0, (), (75,)),
        (9.2, 0, (75,), (90,)),
        (9.2, 0, (), (75, 90)),
        (10.0, 0, (75, 90), (100,)),
        (12.0, 0, (75, 90, 100), ()),
        (1.0, 950, (), (75, 90)),  # tokens are the tighter limit here
    ],
)
def test_thresholds_newly_crossed(used_usd, used_tokens, warned, expected):
    budget = RunBudget(
        limit_usd=10.0, limit_tokens=1_000, used_usd=used_usd, used_tokens=used_tokens, warnings=warned
    )
    assert newly_crossed(budget) == expected


def test_threshold_events_carry_the_spending_after_the_call():
    before = RunBudget(limit_usd=1.0, limit_tokens=1_000_000, used_usd=0.7)
    (event,) = threshold_events(before.charged(tokens=2_000, usd=0.1))
    assert event == BudgetThresholdCrossed(
        percent=75, used_usd=0.8, limit_usd=1.0, used_tokens=2_000, limit_tokens=1_000_000
    )


def test_estimate_counts_the_prompt_and_every_output_token_at_the_models_price():
    request = ModelRequest(
        role="planner",
        model="m",
        system="s" * 300,
        messages=(Message(role="user", content="u" * 600),),
        max_tokens=1_000,
    )
    estimate = estimate_call(request, Price(input_per_mtok=3.0, output_per_mtok=15.0))
    prompt_tokens = estimate.tokens - 1_000
    assert prompt_tokens >= 900 // 3  # at least a token per three characters of system and messages
    assert estimate.usd == pytest.approx((prompt_tokens * 3.0 + 1_000 * 15.0) / 1_000_000)


def test_budget_is_read_from_the_runs_projection():
    state = RunState(
        budget_limit_usd=5.0,
        budget_limit_tokens=900,
        budget_used_usd=1.5,
        budget_used_tokens=300,
        budget_warnings=(75,),
    )
    assert RunBudget.from_state(state) == RunBudget(5.0, 900, 1.5, 300, (75,))
