"""The tools the model may call while it writes a change, and how their calls are answered."""

from __future__ import annotations

from collections.abc import Sequence

from wave_llm import ToolCall, ToolSpec

from .repository_view import RepositoryView, ToolError

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="read_file",
        description="Read a text file of the repository. Paths are relative to the repository root.",
        input_schema={
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "start_line": {"type": "integer", "minimum": 1},
                "end_line": {"type": "integer", "minimum": 1},
            },
            "required": ["path"],
        },
    ),
    ToolSpec(
        name="list_directory",
        description="List a directory of the repository ('.' is the root). Directories end with '/'.",
        input_schema={"type": "object", "properties": {"path": {"type": "string"}}},
    ),
    ToolSpec(
        name="search",
        description="Search the repository's text files for a Python regular expression, line by line.",
        input_schema={
            "type": "object",
            "properties": {"pattern": {"type": "string"}, "path": {"type": "string"}},
            "required": ["pattern"],
        },
    ),
)


def run_tool(view: RepositoryView, call: ToolCall) -> str:
    """The answer to one tool call; a refused or failed call answers with `error: …`, never raises."""
    args = call.arguments
    try:
        if call.name == "read_file":
            return view.read_file(_text(args, "path"), _line(args, "start_line"), _line(args, "end_line"))
        if call.name == "list_directory":
            return view.list_directory(_text(args, "path", "."))
        if call.name == "search":
            return view.search(_text(args, "pattern"), _text(args, "path", "."))
        raise ToolError(f"unknown tool {call.name!r}; the tools are {', '.join(t.name for t in TOOLS)}")
    except ToolError as exc:
        return f"error: {exc}"


def tool_results(view: RepositoryView, calls: Sequence[ToolCall]) -> str:
    """One user message answering every call of a model turn, in order, each under its call id."""
    parts = []
    for call in calls:
        shown = ", ".join(f"{k}={v!r}" for k, v in call.arguments.items())
        parts.append(f"[tool result {call.id}] {call.name}({shown})\n{run_tool(view, call)}")
    return "\n\n".join(parts)


def _text(args: dict[str, object], key: str, default: str | None = None) -> str:
    value = args.get(key, default)
    if not isinstance(value, str):
        raise ToolError(f"argument {key!r} is required and must be a string")
    return value


def _line(args: dict[str, object], key: str) -> int | None:
    value = args.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ToolError(f"argument {key!r} must be a positive integer")
    return value
