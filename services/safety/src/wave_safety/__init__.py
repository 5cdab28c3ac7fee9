"""WAVE safety: the constitution as concrete checks. Every proposed action — a shell command, a git
command, a diff, SQL or a file write — gets a score in [0, 1], the violations it commits (each naming a
principle and a stable rule id), a verdict (allow, escalate, block) and the policy version."""

from .actions import (
    ACTION_KINDS,
    Action,
    ActionError,
    Diff,
    FileWrite,
    GitCommand,
    ShellCommand,
    Sql,
    action_from_mapping,
)
from .bootstrap import create_service
from .decide import ScoreChange, action_scored, decide
from .judge import Judge, JudgeRuling
from .policy import DEFAULT_EGRESS_ALLOWLIST, PolicyError, SafetyPolicy
from .rules import PRINCIPLE_TEXT, RULES, Finding, Principle, Rule
from .scorer import assess, findings_for, score
from .scoring import SafetyVerdict, Violation, combine
from .service import SafetyService

__all__ = [
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
    "Judge",
    "JudgeRuling",
    "PolicyError",
    "Principle",
    "Rule",
    "SafetyPolicy",
    "SafetyService",
    "SafetyVerdict",
    "ScoreChange",
    "ShellCommand",
    "Sql",
    "Violation",
    "action_from_mapping",
    "action_scored",
    "assess",
    "combine",
    "create_service",
    "decide",
    "findings_for",
    "score",
]
