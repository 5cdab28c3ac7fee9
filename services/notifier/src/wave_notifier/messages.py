"""The messages the notifier posts, as Block Kit with a plain-text fallback. Pure functions of values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from wave_events.catalogue import RunSummarized

from .blockkit import (
    SECTION_TEXT,
    Block,
    SlackMessage,
    actions,
    button,
    context,
    escape,
    fallback,
    fields,
    header,
    section,
    truncate,
)

APPROVE_COMMAND = "wave approve {run_id} --decision {options}"
BUDGET_COMMAND = "wave budget {run_id} --usd NEW_LIMIT"
ESCALATION_ACTION_ID = "wave_escalation_{option}"
_MAX_LISTED_VIOLATIONS = 10
_OUTCOMES = {
    "completed": ("🎉", "completed"),
    "failed": ("❌", "failed"),
    "blocked": ("🚫", "blocked"),
    "cancelled": ("⏹️", "cancelled"),
    "rejected": ("📝", "stopped: plan rejected"),
}


@dataclass(frozen=True)
class RuleBroken:
    rule: str
    principle: str = ""
    detail: str = ""


def _usd(amount: float) -> str:
    return f"${amount:,.2f}"


def _tokens(count: int) -> str:
    return f"{count:,}"


def _status_hint(run_id: str) -> str:
    return f"Run `{run_id}` · `wave status {run_id}`"


def run_started(
    run_id: str,
    *,
    story: str,
    repo: str,
    target_branch: str,
    budget_usd: float,
    merge_policy: str,
    requested_by: str,
) -> SlackMessage:
    return SlackMessage(
        text=fallback(f"Run {run_id} started by {requested_by} on {repo} ({target_branch}): {story}"),
        blocks=(
            header(f"🚀 Run {run_id} started"),
            section("\n".join(f">{line}" for line in escape(story).splitlines() or [""])),
            fields(
                [
                    ("Repository", repo),
                    ("Target branch", target_branch),
                    ("Budget", _usd(budget_usd)),
                    ("Merge policy", merge_policy),
                    ("Requested by", requested_by),
                ]
            ),
            context(_status_hint(run_id)),
        ),
    )


def gate_passed(run_id: str, *, gate: str, gates: Mapping[str, bool], detail: str = "") -> SlackMessage:
    progress = "  ".join(f"{'✅' if passed else '⬜'} {name}" for name, passed in gates.items())
    blocks = [header(f"✅ Run {run_id}: gate {gate} passed"), section(progress)]
    hints = [escape(detail)] if detail else []
    blocks.append(context(*hints, _status_hint(run_id)))
    return SlackMessage(text=fallback(f"Run {run_id}: gate {gate} passed"), blocks=tuple(blocks))


def escalation(
    run_id: str, *, escalation_id: str, kind: str, reason: str, options: Sequence[str]
) -> SlackMessage:
    if kind == "budget":
        # `wave approve` refuses a budget stop: a top-up answers it, a reject stops the run.
        command = BUDGET_COMMAND.format(run_id=run_id)
        options = [option for option in options if option != "approve"]
    else:
        command = APPROVE_COMMAND.format(run_id=run_id, options="|".join(options))
    blocks = [
        header(f"⚠️ Run {run_id}: a decision is needed"),
        section(escape(reason)),
        fields([("Kind", kind.replace("_", " ")), ("Escalation", escalation_id)]),
        section(f"To decide, run:\n```{escape(command)}```"),
    ]
    styles = {"approve": "primary", "reject": "danger"}
    try:
        buttons = [
            button(
                option.capitalize(),
                ESCALATION_ACTION_ID.format(option=option),
                escalation_id,
                styles.get(option),
            )
            for option in options
        ]
    except ValueError:
        buttons = []  # an id too long for a button value: the command above still works
    if buttons:
        blocks.append(actions(buttons))
    return SlackMessage(
        text=fallback(f"Run {run_id} needs a decision ({kind.replace('_', ' ')}): {reason} — {command}"),
        blocks=tuple(blocks),
    )


def safety_violation(
    run_id: str,
    *,
    verdict: str,
    score: float,
    rules: Sequence[RuleBroken],
    action_kind: str,
    policy_version: str,
    task_id: str | None = None,
    attempt: int | None = None,
    risks: Sequence[str] = (),
) -> SlackMessage:
    title = "an action was blocked" if verdict == "block" else "an action needs approval"
    emoji = "🛑" if verdict == "block" else "✋"
    task = f"{task_id} (attempt {attempt})" if task_id and attempt else (task_id or "—")
    listed = [
        f"• *{escape(r.rule)}*"
        + (f" ({escape(r.principle)})" if r.principle else "")
        + (f": {escape(r.detail)}" if r.detail else "")
        for r in rules[:_MAX_LISTED_VIOLATIONS]
    ]
    if len(rules) > _MAX_LISTED_VIOLATIONS:
        listed.append(f"… and {len(rules) - _MAX_LISTED_VIOLATIONS} more")
    blocks = [
        header(f"{emoji} Run {run_id}: {title}"),
        fields(
            [
                ("Verdict", verdict),
                ("Score", f"{score:.2f}"),
                ("Action", action_kind),
                ("Task", task),
                ("Policy", policy_version),
            ]
        ),
        section(
            truncate("*Rules broken*\n" + "\n".join(listed), SECTION_TEXT) if listed else "_No rule named._"
        ),
    ]
    if risks:
        blocks.append(context("Risks: " + escape(", ".join(risks))))
    blocks.append(context(_status_hint(run_id)))
    names = ", ".join(r.rule for r in rules) or "none named"
    return SlackMessage(
        text=fallback(
            f"Run {run_id}: safety verdict {verdict} (score {score:.2f}) on a {action_kind}; rules: {names}"
        ),
        blocks=tuple(blocks),
    )


def budget_warning(
    run_id: str,
    *,
    percent: int,
    used_usd: float,
    limit_usd: float,
    used_tokens: int,
    limit_tokens: int,
    exceeded: bool = False,
    blocked_call: str = "",
) -> SlackMessage:
    if exceeded:
        title, summary = f"⛔ Run {run_id}: budget exceeded", f"Run {run_id} is out of budget"
    else:
        title, summary = (
            f"💸 Run {run_id}: {percent}% of the budget used",
            f"Run {run_id} has used {percent}% of its budget",
        )
    blocks = [
        header(title),
        fields(
            [
                ("Cost", f"{_usd(used_usd)} of {_usd(limit_usd)}"),
                ("Tokens", f"{_tokens(used_tokens)} of {_tokens(limit_tokens)}"),
            ]
        ),
    ]
    if blocked_call:
        blocks.append(section(escape(blocked_call)))
    blocks.append(context(_status_hint(run_id)))
    return SlackMessage(
        text=fallback(
            f"{summary}: {_usd(used_usd)} of {_usd(limit_usd)}, {_tokens(used_tokens)} of {_tokens(limit_tokens)} tokens"
        ),
        blocks=tuple(blocks),
    )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def summary_blocks(summary: RunSummarized) -> list[Block]:
    """What a finished run came to: time, cost, gates, retries, tests, files and the people's decisions."""
    passed_tests = sum(1 for t in summary.tests if t.passed)
    blocks: list[Block] = [
        fields(
            [
                ("Took", _duration(summary.duration_s)),
                ("Cost", f"{_usd(summary.cost_usd)} · {_tokens(summary.tokens)} tokens"),
                ("Retries", str(len(summary.retries))),
                ("Test runs", f"{len(summary.tests)} ({passed_tests} passed)"),
                ("Files changed", str(len(summary.files_changed))),
                ("Decisions", str(len(summary.decisions))),
            ]
        )
    ]
    gates = [
        f"{'✅' if g.passed_at else '⬜'} {escape(g.gate)}"
        + (f" at {g.passed_at:%H:%M:%S} (+{_duration(g.took_s or 0)})" if g.passed_at else "")
        for g in summary.gates
    ]
    blocks.append(section("*Gates*\n" + "\n".join(gates)))
    details = [f"• retry {r.retry}: {escape(r.reason)}" for r in summary.retries]
    details += [
        f"• {escape(d.decided_by)} chose *{d.decision}* on {escape(d.kind.replace('_', ' '))} at {d.decided_at:%H:%M:%S}"
        + (f": {escape(d.comment)}" if d.comment else "")
        for d in summary.decisions
    ]
    if details:
        blocks.append(section("*Retries and decisions*\n" + "\n".join(details)))
    spend = [
        f"{escape(s.role)} on {escape(s.provider)}: {s.calls} call(s), "
        f"{_tokens(s.input_tokens + s.output_tokens)} tokens, {_usd(s.cost_usd)}"
        for s in summary.spend
    ]
    if summary.files_changed:
        spend.append("Files: " + escape(", ".join(summary.files_changed)))
    if spend:
        blocks.append(context(*spend))
    return blocks


def run_finished(
    run_id: str,
    *,
    outcome: str,
    merge_commit: str | None = None,
    reason: str | None = None,
    summary: RunSummarized | None = None,
) -> SlackMessage:
    if outcome not in _OUTCOMES:
        raise ValueError(f"unknown run outcome {outcome!r}; expected one of {', '.join(_OUTCOMES)}")
    emoji, said = _OUTCOMES[outcome]
    if merge_commit:
        body, plain_body = f"Merged as `{merge_commit[:12]}`", f"merged as {merge_commit[:12]}"
    else:
        body, plain_body = escape(reason or "No reason was given."), reason or "no reason given"
    pairs = [("Outcome", outcome)] + ([("Merge commit", merge_commit)] if merge_commit else [])
    told = ""
    if summary is not None:
        told = (
            f" ({_duration(summary.duration_s)}, {_usd(summary.cost_usd)}, {len(summary.retries)} retries, "
            f"{len(summary.files_changed)} files changed)"
        )
    return SlackMessage(
        text=fallback(f"Run {run_id} {said}: {plain_body}{told}"),
        blocks=(
            header(f"{emoji} Run {run_id} {said}"),
            section(body),
            fields(pairs),
            *(summary_blocks(summary) if summary is not None else ()),
            context(_status_hint(run_id)),
        ),
    )
