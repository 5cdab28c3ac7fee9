"""What the planner and merge-reviewer models are told. Pure text building; the answer formats are in
`answers.py` and the README."""

from __future__ import annotations

import wave_diffs
from wave_events.domains import DomainTable
from wave_events.projections import RunState

from .listing import FileListing

PLANNER_SYSTEM = """\
You are the planner of WAVE, a system in which AI agents deliver a story (a coding task) against a git \
repository. Split the story into a few small tasks that developers can each finish with one change, \
or say that the story cannot be done in this repository.

Answer with exactly one JSON object and nothing else.

When the story can be done:
{"feasible": true, "summary": "<one paragraph: the approach>", "tasks": [{"task_id": "t1", \
"domain": "<one of the domains listed with the story>", "description": "<what to change>", \
"acceptance_criteria": ["<a checkable statement>", "..."], "files_of_interest": ["<path relative to \
the repository root>", "..."], "depends_on": ["<task_id of a task that must be done first>"]}]}

When it cannot:
{"feasible": false, "reason": "<why not>"}

Tasks without dependencies are developed at the same time, so keep them independent where you can; \
depends_on is empty for those and never forms a cycle.

Rules: 1 to 20 tasks; task_id uses letters, digits, '.', '_' or '-' and is unique; every task has at \
least one acceptance criterion; files_of_interest may be empty and never leaves the repository; no \
other keys."""

MERGE_REVIEWER_SYSTEM = """\
You are the merge reviewer of WAVE. A run's changes passed safety checks and its tests. Decide whether \
the run branch should be merged into the target branch: do the changes deliver the story, and nothing \
else?

You see the whole change of the run branch against the base it started from, and the acceptance \
criteria of the plan's tasks, each with an id. Say for every criterion whether the change meets it.

Answer with exactly one JSON object and nothing else:
{"approve": true, "reason": "<why>", "criteria": [{"id": "<criterion id>", "met": true, "note": "<where or why>"}]} \
or {"approve": false, "reason": "<what is wrong>", "criteria": [...]}. Name every criterion id once."""

RETRY_INSTRUCTION = "Your answer is not valid: {problem}\nAnswer again with only the JSON object the instructions describe."

DIFF_BUDGET_CHARS = 24_000  # all diffs together, in a merge-review prompt


def plan_prompt(story: str, target_branch: str, listing: FileListing | None, domains: DomainTable | None = None) -> str:
    files = listing.render() if listing is not None else "(no file listing: the repository could not be read)"
    known = ""
    if domains is not None:
        known = "Domains (the files a task touches decide its domain):\n" + "\n".join(
            f"- {d.name}: {', '.join(d.paths) or '(no paths)'}" for d in domains.domains
        ) + "\n\n"
    return f"Story:\n{story}\n\nTarget branch: {target_branch}\n\n{known}{files}\n"


def criteria_ids(state: RunState) -> dict[str, tuple[str, str]]:
    """Each acceptance criterion of the plan by the id the reviewer names it with: `<task id>.<n>`."""
    return {
        f"{task.task_id}.{n}": (task.task_id, criterion)
        for task in state.tasks.values()
        for n, criterion in enumerate(task.acceptance_criteria, start=1)
    }


def merge_review_prompt(state: RunState, head: str, branch_diff: str | None = None) -> str:
    """`branch_diff`: the run branch from its base to `head`; without it (the branch could not be read)
    each task's last proposed change is shown instead."""
    lines = [
        f"Story:\n{state.story}",
        "",
        f"Plan summary: {state.plan_summary or '(none)'}",
        f"Run branch {state.branch or '(unknown)'} at head {head}; merge into {state.target_branch}.",
        f"Tests passed on head {head}.",
        "",
        "Acceptance criteria (id: task, criterion):",
        *(f"- {cid}: task {task} — {criterion}" for cid, (task, criterion) in criteria_ids(state).items()),
        "",
    ]
    if branch_diff is not None:
        return "\n".join([*lines, *_whole_change(state, head, branch_diff)]) + "\n"
    lines.append("Changes, one per task:")
    tasks = list(state.tasks.values())
    share = DIFF_BUDGET_CHARS // max(1, len(tasks))
    for task in tasks:
        diff = task.proposal_diff or "(no diff recorded)"
        if len(diff) > share:
            diff = diff[:share] + f"\n... ({len(diff) - share} more characters not shown)"
        lines += ["", f"## Task {task.task_id} ({task.domain}, attempt {task.attempt}): {task.description}", diff]
    return "\n".join(lines) + "\n"


def _whole_change(state: RunState, head: str, branch_diff: str) -> list[str]:
    base = (state.base_commit or "?")[:12]
    if not branch_diff.strip():
        return [f"The whole change ({base}..{head[:12]}): the branch changes no file."]
    try:
        files = wave_diffs.split(branch_diff).files
    except wave_diffs.DiffError:  # nothing libgit2 made should be unreadable; shown as it is if it is
        return [f"The whole change ({base}..{head[:12]}):", branch_diff[:DIFF_BUDGET_CHARS]]
    lines = [f"The whole change of {state.branch or 'the run branch'} against its base ({base}..{head[:12]}), "
             f"{len(files)} file(s):"]
    share = DIFF_BUDGET_CHARS // max(1, len(files))
    for file in files:
        text = file.text
        if len(text) > share:
            text = text[:share] + f"\n... ({len(text) - share} more characters of {file.path} not shown)\n"
        lines += ["", f"## {file.path}", text.rstrip("\n")]
    return lines
