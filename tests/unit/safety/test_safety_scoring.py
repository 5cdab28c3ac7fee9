"""Combining violations into a score, and the grey-zone judge port."""

import pytest
from wave_constitution import (
    RULES,
    Action,
    Diff,
    Finding,
    InvalidRuling,
    Judge,
    JudgeRuling,
    SafetyPolicy,
    SafetyVerdict,
    ShellCommand,
    Violation,
    assess,
    combine,
    judged_verdict,
    read_ruling,
)

POLICY = SafetyPolicy()


@pytest.mark.parametrize(
    ("rules", "score", "verdict"),
    [
        (["shell.network_egress"], 0.5, "escalate"),  # 1 - 0.5
        (["shell.network_egress", "shell.network_egress"], 0.5, "escalate"),  # a rule counts once
        (["shell.network_egress", "shell.stdin_to_shell"], 0.325, "escalate"),  # 0.5 · 0.65
        (["shell.secret_read", "shell.inline_secret"], 0.1, "block"),  # 0.25 · 0.4
        (["shell.stdin_to_shell", "shell.stdin_to_shell", "shell.secret_read"], 0.1625, "block"),  # 0.65 · 0.25
        (["shell.rm_root"], 0.05, "block"),  # 1 - 0.95
    ],
)
def test_score_is_the_product_of_one_minus_severity_over_distinct_rules(rules, score, verdict) -> None:
    findings = [Finding(rule, f"finding {n}") for n, rule in enumerate(rules)]
    result = combine(findings, POLICY)
    assert (result.score, result.verdict) == (pytest.approx(score, abs=1e-4), verdict)
    assert [v.detail for v in result.violations] == [f"finding {n}" for n in range(len(rules))]


def test_every_violation_is_listed_with_its_principle_and_a_repeated_one_once() -> None:
    findings = [
        Finding("shell.network_egress", "to a.example"),
        Finding("shell.network_egress", "to b.example"),
        Finding("shell.network_egress", "to a.example"),
        Finding("shell.stdin_to_shell", "pipe"),
    ]
    verdict = combine(findings, POLICY)
    assert [(v.principle, v.detail) for v in verdict.violations] == [
        ("never_expose_secrets", "to a.example"),
        ("never_expose_secrets", "to b.example"),
        ("escalate_uncertainty", "pipe"),
    ]


def test_no_findings_is_a_clean_allow() -> None:
    assert combine([], POLICY) == SafetyVerdict(1.0, "allow", (), POLICY.version)


def test_an_unknown_rule_id_is_a_programming_error() -> None:
    with pytest.raises(KeyError, match="unknown safety rule"):
        Finding("shell.nope", "x")


def test_every_rule_has_a_principle_and_a_severity_in_range() -> None:
    for rule in RULES.values():
        assert 0 < rule.severity < 1, rule.id
        assert rule.id.split(".")[0] in {"shell", "git", "diff", "sql", "file"}, rule.id


class RecordingJudge(Judge):
    def __init__(self, ruling: JudgeRuling | Exception) -> None:
        self.ruling = ruling
        self.seen: list[tuple[Action, SafetyVerdict]] = []

    async def review(self, action: Action, preliminary: SafetyVerdict) -> JudgeRuling:
        self.seen.append((action, preliminary))
        if isinstance(self.ruling, Exception):
            raise self.ruling
        return self.ruling


async def test_the_judge_settles_an_escalation_and_its_reason_is_kept() -> None:
    judge = RecordingJudge(JudgeRuling(0.0, "the host is our staging mirror"))
    action = ShellCommand("curl https://staging.example.net/health")
    verdict = await assess(action, POLICY, judge)
    assert verdict.verdict == "allow" and "the host is our staging mirror" in (verdict.judge_reason or "")
    assert verdict.score == 0.75 and [v.rule for v in verdict.violations] == ["shell.network_egress"]
    assert judge.seen[0][0] == action and judge.seen[0][1].verdict == "escalate"


@pytest.mark.parametrize("command", ["rm -rf /", "ls -la"])
async def test_the_judge_is_not_asked_about_clear_cases(command: str) -> None:
    judge = RecordingJudge(JudgeRuling(0.0, "looks fine"))
    verdict = await assess(ShellCommand(command), POLICY, judge)
    assert judge.seen == [] and verdict.judge_reason is None


async def test_a_failing_judge_leaves_the_verdict_at_escalate() -> None:
    verdict = await assess(
        ShellCommand("curl https://x.example.net"), POLICY, RecordingJudge(TimeoutError("slow"))
    )
    assert verdict.verdict == "escalate"
    assert "judge unavailable (TimeoutError)" in (verdict.judge_reason or "")


async def test_without_a_judge_assess_equals_score() -> None:
    verdict = await assess(ShellCommand("curl https://x.example.net"), POLICY)
    assert verdict.verdict == "escalate" and verdict.judge_reason is None


def test_a_ruling_must_be_a_risk_with_a_reason_and_known_principles() -> None:
    with pytest.raises(ValueError, match="risk must be a number between 0 and 1"):
        JudgeRuling("maybe", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="risk must be a number between 0 and 1"):
        JudgeRuling(1.5, "x")
    with pytest.raises(ValueError, match="needs a reason"):
        JudgeRuling(0.1, " ")
    with pytest.raises(ValueError, match="unknown principle 'be_nice'"):
        JudgeRuling(0.1, "x", ("be_nice",))


@pytest.mark.parametrize(
    ("rule_score", "risk", "expected"),
    [(0.5, 0.0, (0.75, "allow")), (0.5, 0.5, (0.5, "escalate")), (0.5, 1.0, (0.25, "block")), (0.35, 0.0, (0.675, "escalate"))],
)
def test_the_judge_and_the_rules_make_one_score_by_the_documented_formula(rule_score, risk, expected) -> None:
    preliminary = SafetyVerdict(rule_score, "escalate", (Violation("never_expose_secrets", "shell.network_egress", "x"),), "p")
    judged = judged_verdict(preliminary, JudgeRuling(risk, "why", ("never_expose_secrets",)), POLICY)
    assert (judged.score, judged.verdict) == expected  # (1 - 0.5) * rule_score + 0.5 * (1 - risk)
    assert judged.violations == preliminary.violations and "risk" in (judged.judge_reason or "")


async def test_a_model_never_clears_a_change_that_weakens_its_own_tests() -> None:
    change = Diff(
        "diff --git a/.wave/qa.toml b/.wave/qa.toml\n--- a/.wave/qa.toml\n+++ b/.wave/qa.toml\n"
        "@@ -1 +1 @@\n-command = \"pytest -q\"\n+command = \"true\"\n"
    )
    verdict = await assess(change, POLICY, RecordingJudge(JudgeRuling(0.0, "only a config tweak")))
    assert verdict.verdict == "escalate" and verdict.score == 0.75
    assert "diff.test_selection is a person's to clear" in (verdict.judge_reason or "")


def test_the_judges_answer_is_read_as_json_and_refused_otherwise() -> None:
    ruling = read_ruling('```json\n{"risk": 0.2, "principles": ["validate_inputs"], "reason": "pinned mirror"}\n```')
    assert ruling == JudgeRuling(0.2, "pinned mirror", ("validate_inputs",))
    for bad, problem in [("sure, allow it", "not JSON"), ("[1]", "not a JSON object"), ('{"risk": 2, "reason": "x"}', "between 0 and 1")]:
        with pytest.raises(InvalidRuling, match=problem):
            read_ruling(bad)
