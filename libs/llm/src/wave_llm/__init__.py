"""WAVE's access to language models: providers, per-role routing with fallbacks, prices, the budget guard,
call records with content-addressed bodies, and cassettes for offline runs and replay."""

from .blobs import BlobNotFound, BlobStore, FileBlobStore, content_ref
from .budget import (
    CallEstimate,
    Refusal,
    RunBudget,
    check_call,
    estimate_call,
    newly_crossed,
    threshold_events,
)
from .cassette import Cassette, Interaction, dump_cassette, load_cassette, with_latency
from .client import BudgetExhausted, CallResult, ModelCallFailed, ModelClient
from .errors import (
    CassetteError,
    ConfigError,
    ModelError,
    ModelSourceUnavailable,
    PermanentModelError,
    TransientModelError,
)
from .model import ROLES, AgentRole, Message, ModelRequest, ModelResponse, ToolCall, ToolSpec
from .pricing import DEFAULT_PRICES, Price, PriceTable
from .provider import ModelProvider
from .providers import (
    OPENAI_COMPATIBLE_PRESETS,
    AnthropicProvider,
    OpenAICompatibleProvider,
    OpenAIProvider,
    RecordingProvider,
    ScriptedProvider,
)
from .records import INLINE_LIMIT_BYTES, CallRecorder, answer_refused, budget_charged
from .reservations import SharedBudget, StoredBudget, TaskCap, current_task, sharing_budget, working_on
from .retry import RetryPolicy, call_with_retries
from .routing import RouteEntry, Router
from .runplay import cassette_document, playing_run
from .setup import (
    ModelsFile,
    ModelsSetup,
    describe_setup,
    load_models_setup,
    mask,
    missing_model_sources,
    offline_banner,
)

__all__ = [
    "DEFAULT_PRICES",
    "INLINE_LIMIT_BYTES",
    "OPENAI_COMPATIBLE_PRESETS",
    "ROLES",
    "AgentRole",
    "AnthropicProvider",
    "BlobNotFound",
    "BlobStore",
    "BudgetExhausted",
    "SharedBudget",
    "StoredBudget",
    "TaskCap",
    "current_task",
    "sharing_budget",
    "working_on",
    "CallEstimate",
    "CallRecorder",
    "CallResult",
    "Cassette",
    "CassetteError",
    "ConfigError",
    "FileBlobStore",
    "Interaction",
    "Message",
    "ModelCallFailed",
    "ModelClient",
    "ModelError",
    "ModelProvider",
    "ModelRequest",
    "ModelSourceUnavailable",
    "ModelResponse",
    "ModelsFile",
    "ModelsSetup",
    "OpenAICompatibleProvider",
    "OpenAIProvider",
    "PermanentModelError",
    "Price",
    "PriceTable",
    "RecordingProvider",
    "Refusal",
    "RetryPolicy",
    "RouteEntry",
    "Router",
    "RunBudget",
    "ScriptedProvider",
    "ToolCall",
    "ToolSpec",
    "TransientModelError",
    "answer_refused",
    "budget_charged",
    "call_with_retries",
    "check_call",
    "content_ref",
    "describe_setup",
    "cassette_document",
    "dump_cassette",
    "estimate_call",
    "load_cassette",
    "playing_run",
    "load_models_setup",
    "with_latency",
    "mask",
    "missing_model_sources",
    "newly_crossed",
    "offline_banner",
    "threshold_events",
]
