"""SafetyService turns each ChangeProposed into one ActionScored."""

from safety_diffs import added, modified
from wave_constitution import Judge, JudgeRuling, SafetyPolicy
from wave_events import new_envelope, run_stream_id
from wave_events.catalogue import ActionScored, ChangeProposed, RunRequested
from wave_events.projections import RunState
from wave_safety import SafetyService

STREAM = run_stream_id("r1")


def proposed(diff: str, task_id: str = "t1", attempt: int = 2):
    payload = ChangeProposed(task_id=task_id, attempt=attempt, diff=diff, base_commit="a" * 40, rationale="r")
    return new_envelope(STREAM, payload, producer="developer")


async def test_a_safe_change_is_scored_allow() -> None:
    event = proposed(modified("src/app.py", "return a - b", "return a + b"))
    outputs = await SafetyService().handle(RunState(run_id="r1"), event)
    assert len(outputs) == 1
    scored = outputs[0]
    assert isinstance(scored, ActionScored)
    assert scored.target_event_id == event.event_id
    assert (scored.action_kind, scored.task_id, scored.attempt) == ("diff", "t1", 2)
    assert (scored.score, scored.verdict, scored.violations) == (1.0, "allow", ())
    assert scored.policy_version == SafetyPolicy().version


async def test_a_change_that_adds_a_git_hook_is_blocked_with_its_violation() -> None:
    event = proposed(added(".git/hooks/pre-commit", "#!/bin/sh\necho"))
    (scored,) = await SafetyService().handle(RunState(run_id="r1"), event)
    assert scored.verdict == "block"
    assert [(v.principle, v.rule) for v in scored.violations] == [
        ("never_touch_files_outside_worktree", "diff.git_dir")
    ]


async def test_the_policy_version_of_the_service_is_recorded() -> None:
    service = SafetyService(SafetyPolicy(version="policy-2"))
    (scored,) = await service.handle(RunState(run_id="r1"), proposed(modified("a.py", "x", "y")))
    assert scored.policy_version == "policy-2"


async def test_a_configured_judge_settles_an_escalated_change_and_says_why() -> None:
    class Approving(Judge):
        async def review(self, action, preliminary):
            return JudgeRuling(0.0, "the script only prints a greeting")

    event = proposed(added("scripts/hello.sh", "#!/bin/sh\ncurl -s https://status.example.net/ping\n"))
    (scored,) = await SafetyService(judge=Approving()).handle(RunState(run_id="r1"), event)
    assert scored.verdict == "allow" and scored.score == 0.75
    assert scored.risks == ("judge: risk 0.00 (no principle named): the script only prints a greeting (rule score 0.50)",)


async def test_handling_the_same_event_twice_gives_the_same_output() -> None:
    event = proposed(added(".env", "A=1"))
    service = SafetyService()
    assert await service.handle(RunState(), event) == await service.handle(RunState(), event)


async def test_other_events_produce_nothing() -> None:
    event = new_envelope(STREAM, RunRequested(story="s", repo="r", budget_usd=1), producer="cli")
    assert await SafetyService().handle(RunState(), event) == ()
    assert SafetyService.handles == frozenset({"ChangeProposed"}) and SafetyService.name == "safety"
