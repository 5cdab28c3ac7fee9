"""WAVE's constitution as concrete checks. Every action an agent takes — a shell command, a git
command, a diff, SQL or a file write — gets a score in [0, 1], the violations it commits (each naming a
principle and a stable rule id), a verdict (allow, escalate, block) and the policy version. Pure: the
same action under the same policy version always gets the same verdict."""

from .actions import (
    ACTION_KINDS,
    Action,
    ActionError,
    Diff,
    FileWrite,
    GitCommand,
    Merge,
    Push,
    ShellCommand,
    Sql,
    action_as_mapping,
    action_from_mapping,
)
from .judge import (
    JUDGE_SYSTEM,
    PERSON_ONLY_RULES,
    InvalidRuling,
    Judge,
    JudgeRuling,
    NoJudgeAvailable,
    judge_prompt,
    judged_verdict,
    read_ruling,
)
from .lines import score_lines
from .policy import DEFAULT_EGRESS_ALLOWLIST, PolicyError, SafetyPolicy
from .rules import PRINCIPLE_TEXT, RULES, Finding, Principle, Rule
from .scorer import assess, findings_for, score
from .scoring import SafetyVerdict, Violation, combine

__all__ = [
    "JUDGE_SYSTEM",
    "PERSON_ONLY_RULES",
    "InvalidRuling",
    "NoJudgeAvailable",
    "judge_prompt",
    "judged_verdict",
    "read_ruling",
    "ACTION_KINDS",
    "DEFAULT_EGRESS_ALLOWLIST",
    "PRINCIPLE_TEXT",
    "RULES",
    "Action",
    "ActionError",
    "Diff",
    "FileWrite",
    "Finding",
    "GitCommand",
    "Merge",
    "Push",
    "Judge",
    "JudgeRuling",
    "PolicyError",
    "Principle",
    "Rule",
    "SafetyPolicy",
    "SafetyVerdict",
    "ShellCommand",
    "Sql",
    "Violation",
    "action_as_mapping",
    "action_from_mapping",
    "assess",
    "combine",
    "findings_for",
    "score",
    "score_lines",
]
