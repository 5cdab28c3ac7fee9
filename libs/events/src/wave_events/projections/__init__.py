"""Projections: pure folds of events into views. Replaying from scratch gives the state seen live."""

from .run_state import (
    GATES,
    Escalation,
    RunState,
    TaskState,
    evolve,
    fold,
    gates_of,
    ready_tasks,
    task_policy,
)
from .summary import summarize, summary_of

__all__ = ["GATES", "Escalation", "RunState", "TaskState", "evolve", "fold", "gates_of", "ready_tasks", "summarize", "summary_of", "task_policy"]
