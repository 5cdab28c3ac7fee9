"""WAVE planner: plans a story into tasks and supervises the run — retries with backoff on durable timers,
escalations, budget stops, merge review. Decisions are pure (`decide`); model calls live in the service."""

from .answers import (
    FeasiblePlan,
    InfeasiblePlan,
    InvalidAnswer,
    MergeReview,
    PlanAnswer,
    PlannedTask,
    read_json_object,
    read_merge_review,
    read_plan,
)
from .backoff import Backoff
from .bootstrap import create_service
from .config import (
    LISTING_LIMIT_VAR,
    MAX_ANSWERS_VAR,
    RETRY_BASE_VAR,
    RETRY_CAP_VAR,
    ConfigError,
    PlannerConfig,
)
from .decide import (
    HANDLED_EVENT_TYPES,
    SERVICE_NAME,
    MakePlan,
    ReviewMerge,
    Step,
    decide,
    escalation_kind,
    retry_timer_id,
)
from .listing import FileListing, read_file_listing
from .prompts import MERGE_REVIEWER_SYSTEM, PLANNER_SYSTEM, merge_review_prompt, plan_prompt
from .service import PlannerService

__all__ = [
    "HANDLED_EVENT_TYPES",
    "LISTING_LIMIT_VAR",
    "MAX_ANSWERS_VAR",
    "MERGE_REVIEWER_SYSTEM",
    "PLANNER_SYSTEM",
    "RETRY_BASE_VAR",
    "RETRY_CAP_VAR",
    "SERVICE_NAME",
    "Backoff",
    "ConfigError",
    "FeasiblePlan",
    "FileListing",
    "InfeasiblePlan",
    "InvalidAnswer",
    "MakePlan",
    "MergeReview",
    "PlanAnswer",
    "PlannedTask",
    "PlannerConfig",
    "PlannerService",
    "ReviewMerge",
    "Step",
    "create_service",
    "decide",
    "escalation_kind",
    "merge_review_prompt",
    "plan_prompt",
    "read_file_listing",
    "read_json_object",
    "read_merge_review",
    "read_plan",
    "retry_timer_id",
]
