"""What a model call asks and what it answers: the types every provider speaks."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AgentRole = Literal["planner", "developer", "fixer", "safety_judge", "merge_reviewer"]
ROLES: tuple[str, ...] = ("planner", "developer", "fixer", "safety_judge", "merge_reviewer")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Message(_Frozen):
    role: Literal["user", "assistant"]
    content: str


class ToolSpec(_Frozen):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ToolCall(_Frozen):
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ModelRequest(_Frozen):
    """One call to one model. `role` is the agent role the call is made for (it selects the route)."""

    role: AgentRole
    model: str = Field(min_length=1)
    system: str = ""
    messages: tuple[Message, ...] = Field(min_length=1)
    max_tokens: int = Field(ge=1, le=1_000_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    tools: tuple[ToolSpec, ...] = ()

    def prompt_text(self) -> str:
        """The request as the JSON text an auditor reads in `LLMCallRecorded.prompt`."""
        document: dict[str, Any] = {
            "model": self.model,
            "system": self.system,
            "messages": [m.model_dump() for m in self.messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }
        if self.tools:
            document["tools"] = [t.model_dump() for t in self.tools]
        return json.dumps(document, ensure_ascii=False, sort_keys=True)

    def searchable_text(self) -> str:
        """System prompt and message contents, which a cassette's `match.contains` is tested against."""
        return "\n".join([self.system, *(m.content for m in self.messages)])


class ModelResponse(_Frozen):
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    model: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    latency_ms: float = Field(ge=0)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def response_text(self) -> str:
        """The answer as recorded in `LLMCallRecorded.response`: the text, or JSON when tools were called."""
        if not self.tool_calls:
            return self.text
        return json.dumps(
            {"text": self.text, "tool_calls": [c.model_dump() for c in self.tool_calls]},
            ensure_ascii=False,
            sort_keys=True,
        )
