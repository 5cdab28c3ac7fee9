"""From findings to a verdict: each violation takes away its severity's share of the remaining confidence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from .policy import SafetyPolicy
from .rules import RULES, Finding

VerdictName = Literal["allow", "escalate", "block"]
VERDICTS: tuple[str, ...] = ("allow", "escalate", "block")


@dataclass(frozen=True)
class Violation:
    principle: str
    rule: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"principle": self.principle, "rule": self.rule, "detail": self.detail}


@dataclass(frozen=True)
class SafetyVerdict:
    score: float
    verdict: VerdictName
    violations: tuple[Violation, ...]
    policy_version: str
    judge_reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "score": self.score,
            "verdict": self.verdict,
            "violations": [v.as_dict() for v in self.violations],
            "policy_version": self.policy_version,
        }
        if self.judge_reason is not None:
            data["judge_reason"] = self.judge_reason
        return data

    def judged(self, verdict: VerdictName, reason: str) -> SafetyVerdict:
        return replace(self, verdict=verdict, judge_reason=reason)


def combine(findings: Iterable[Finding], policy: SafetyPolicy) -> SafetyVerdict:
    """score = Π (1 - severity) over the distinct rules violated; the thresholds of `policy` pick the verdict.

    Every violation is listed, but a rule counts once however often it fires: talking to three unknown
    hosts is one kind of risk, not three, while egress plus a secret read are two.
    """
    violations: list[Violation] = []
    seen: set[tuple[str, str]] = set()
    rules_hit: set[str] = set()
    score = 1.0
    for finding in findings:
        key = (finding.rule, finding.detail)
        if key in seen:
            continue
        seen.add(key)
        rule = RULES[finding.rule]
        violations.append(Violation(principle=str(rule.principle), rule=rule.id, detail=finding.detail))
        if rule.id not in rules_hit:
            rules_hit.add(rule.id)
            score *= 1.0 - rule.severity
    score = round(max(0.0, min(1.0, score)), 4)
    return SafetyVerdict(
        score=score,
        verdict=policy.verdict_for(score),  # type: ignore[arg-type]
        violations=tuple(violations),
        policy_version=policy.version,
    )
