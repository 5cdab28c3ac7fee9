"""What the model is told: the rules and answer format (system), and the task with its context (user)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .repository_view import RepositoryView, ToolError

SYSTEM = """\
You are the developer of WAVE, an automated software-delivery pipeline. You change a git repository to
complete one task. You cannot run commands; you can read the repository with the tools read_file,
list_directory and search (paths relative to the repository root). Use them only as needed.

When you are ready, answer with your change as ONE unified diff, in exactly this form and nothing else:

Rationale: <one line saying what the change does and why>
```diff
--- a/<path>
+++ b/<path>
@@ -<old start>,<old count> +<new start>,<new count> @@
 <context line>
-<removed line>
+<added line>
```

Rules:
- Every file you change goes in the same ```diff block, one '--- a/<path>' / '+++ b/<path>' section each.
- A new file uses '--- /dev/null' and '+++ b/<path>'; a deleted file uses '--- a/<path>' and '+++ /dev/null'.
  Renames, binary files and mode changes are not supported.
- Paths are relative to the repository root: no leading '/', no '..', nothing under .git.
- Context and '-' lines must match the file exactly, and the @@ counts must match the hunk's lines.
- Change only what the task needs; keep the code style of the repository; add or update tests when the
  acceptance criteria call for them.
If your answer cannot be used you are told why and asked again.
"""

FIX_NOTE = """\
This is a fix: the change for this task was committed, and the repository's tests then failed.
Write a new diff against the commit shown (the current head of the run branch) that makes them pass.
"""

FILE_CHARS = 12_000  # one file of interest in the prompt
FILES_CHARS = 40_000  # all of them together
MAX_FILES = 8
EXCERPT_CHARS = 8_000  # the failure output kept (its end, where the error usually is)
_PATHISH = re.compile(r"[A-Za-z0-9_.\-/]+\.[A-Za-z0-9]{1,8}")


@dataclass(frozen=True)
class TaskBrief:
    task_id: str
    domain: str
    description: str
    acceptance_criteria: tuple[str, ...] = ()
    files_of_interest: tuple[str, ...] = ()


@dataclass(frozen=True)
class Context:
    story: str
    task: TaskBrief
    attempt: int
    commit: str
    branch: str | None
    failure_excerpt: str = ""
    failing_commit: str | None = None
    rewrite: bool = False  # the last change no longer applies on the run branch: write it again

    @property
    def is_fix(self) -> bool:
        return not self.rewrite and (self.attempt > 1 or bool(self.failure_excerpt))


def build_prompt(context: Context, view: RepositoryView) -> str:
    task = context.task
    parts = [
        f"Story: {context.story.strip() or '(none given)'}",
        f"Task {task.task_id} ({task.domain}), attempt {context.attempt}:\n{task.description.strip()}",
    ]
    if task.acceptance_criteria:
        parts.append("Acceptance criteria:\n" + "\n".join(f"- {c}" for c in task.acceptance_criteria))
    parts.append(
        f"Repository at commit {context.commit}" + (f" (run branch {context.branch})" if context.branch else "")
    )
    if context.is_fix:
        parts.append(FIX_NOTE.strip())
        failing = context.failing_commit or "(not given)"
        excerpt = _tail(context.failure_excerpt.strip(), EXCERPT_CHARS) or "(no output was captured)"
        parts.append(f"Failing commit: {failing}\nFailure output:\n```text\n{excerpt}\n```")
    if context.rewrite:
        parts.append(
            "Another task's change was integrated on the run branch after this task's change was written, and "
            f"this task's change no longer applies: write it again against the commit above.\n{context.failure_excerpt.strip()}"
        )
    tree, total = view.file_tree()
    more = f"\n… and {total - len(tree)} more files" if total > len(tree) else ""
    parts.append(f"Files in the repository ({total}):\n" + "\n".join(tree) + more)
    shown = files_of_interest(context, view)
    if shown:
        parts.append("Files of interest:\n\n" + "\n\n".join(_file_block(view, path) for path in shown))
    parts.append("Answer with the Rationale line and the ```diff block.")
    return "\n\n".join(parts)


def files_of_interest(context: Context, view: RepositoryView) -> list[str]:
    """The plan's files of interest, then files named in the task or the failure output, that exist."""
    named = [*context.task.files_of_interest]
    for text in (context.task.description, context.failure_excerpt, *context.task.acceptance_criteria):
        named.extend(_PATHISH.findall(text or ""))
    chosen: list[str] = []
    budget = FILES_CHARS
    for raw in named:
        path = raw.strip().removeprefix("./")
        if not view.exists(path) and path.startswith(("a/", "b/")):
            path = path[2:]  # a path as a diff writes it
        if path in chosen or not view.exists(path):
            continue
        size = view.resolve(path).stat().st_size
        if size > budget and chosen:
            continue
        chosen.append(path)
        budget -= min(size, FILE_CHARS)
        if len(chosen) >= MAX_FILES or budget <= 0:
            break
    return chosen


def _file_block(view: RepositoryView, path: str) -> str:
    try:
        text = view.resolve(path).read_text(encoding="utf-8", errors="replace")
    except (ToolError, OSError) as exc:
        return f"=== {path} ===\n(cannot be read: {exc})"
    note = ""
    if len(text) > FILE_CHARS:
        text, note = text[:FILE_CHARS], "\n[truncated; use read_file for the rest]"
    return f"=== {path} ===\n{text}{note}"


def _tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else "[…earlier output cut]\n" + text[-limit:]


def retry_message(error: str, attempts_left: int) -> str:
    return (
        f"Your answer cannot be used: {error}\n"
        f"Answer again ({attempts_left} attempt(s) left) with the Rationale line and one ```diff block."
    )


LAST_TOOLS_MESSAGE = "You have used all your tool calls. Answer now with the Rationale line and the ```diff block."
