"""WAVE developer: for each task, and for each fix request, a model writes a unified diff against the run's
commit in a bounded tool loop over a read-only view of the checkout; the diff is validated and proposed as `ChangeProposed`."""

from wave_diffs import DiffError, UnsafePathError, check_path

from .agent import GaveUp, LoopLimits, Outcome, OutOfBudget, Proposed, write_change
from .answer import Answer, read_answer
from .bootstrap import create_service
from .checkouts import CheckoutError, Checkouts, GitCheckouts
from .config import ConfigError, DeveloperConfig
from .decide import HANDLED_EVENT_TYPES, Cleanup, Decision, Work, decide
from .prompts import SYSTEM, Context, TaskBrief, build_prompt, files_of_interest
from .repository_view import RepositoryView, ToolError, ViewLimits
from .service import DeveloperService
from .tools import TOOLS, run_tool, tool_results
from .validate import ValidChange, validate_answer

__all__ = [
    "HANDLED_EVENT_TYPES",
    "SYSTEM",
    "TOOLS",
    "Answer",
    "CheckoutError",
    "Checkouts",
    "Cleanup",
    "ConfigError",
    "Context",
    "Decision",
    "DeveloperConfig",
    "DeveloperService",
    "DiffError",
    "GaveUp",
    "GitCheckouts",
    "LoopLimits",
    "OutOfBudget",
    "Outcome",
    "Proposed",
    "RepositoryView",
    "TaskBrief",
    "ToolError",
    "UnsafePathError",
    "ValidChange",
    "ViewLimits",
    "Work",
    "build_prompt",
    "check_path",
    "create_service",
    "decide",
    "files_of_interest",
    "read_answer",
    "run_tool",
    "tool_results",
    "validate_answer",
    "write_change",
]
