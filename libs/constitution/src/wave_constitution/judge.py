"""The grey-zone judge: a port to a model that may settle an `escalate` verdict.

It is consulted only for `escalate`, so it can never let through what the rules block, and what it
decides is recorded with its reason next to the rule-based score.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from .actions import Action
from .scoring import VERDICTS, SafetyVerdict, VerdictName


@dataclass(frozen=True)
class JudgeRuling:
    verdict: VerdictName
    reason: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"a judge ruling must be one of {', '.join(VERDICTS)}, got {self.verdict!r}")
        if not self.reason.strip():
            raise ValueError("a judge ruling needs a reason")


class Judge(ABC):
    """Reviews an action the rules escalated.

    Contract: `review` is called only for an `escalate` verdict and returns a `JudgeRuling`, the verdict
    it settles on and why. It may raise: a failing judge leaves the verdict at `escalate`, so a human
    decides.
    """

    @abstractmethod
    async def review(self, action: Action, preliminary: SafetyVerdict) -> JudgeRuling:
        """The verdict on `action`, which the rules scored `preliminary`, with the reason."""
