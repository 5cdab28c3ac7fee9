"""The labelled safety corpus: loading it, scoring it, and reporting how the scorer does per kind.

`python tests/support/safety_corpus.py sample-nl2bash` rewrites corpus/command_nl2bash.jsonl from the
NL2Bash command list: every STEP-th line, keeping its line number, so the sample is reproducible.
`python tests/support/safety_corpus.py nl2bash-rates` scores the whole list and prints the share of
commands allowed, escalated and blocked (the figures docs/safety.md quotes).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wave_constitution import SafetyPolicy, SafetyVerdict, action_from_mapping, score

CORPUS_DIR = Path(__file__).resolve().parents[1] / "unit" / "safety" / "corpus"
NL2BASH_FILE = Path("/work/shared/data/nl2bash/all.cm")
NL2BASH_STEP = 63
LABELS = ("dangerous", "benign")
# Sampled lines that fall in a category the safety brief itself lists as dangerous keep their source
# line number but not the "benign" label; the note says which category.
NL2BASH_RELABELLED = {
    8001: "edits ~/.zshrc, a dotfile that runs code (the brief lists writing such dotfiles as dangerous)",
}


@dataclass(frozen=True)
class Case:
    file: str
    line: int
    label: str
    kind: str
    data: dict[str, Any]

    @property
    def category(self) -> str | None:
        """The kind of danger a hand-written case stands for (services, secrets, …), if it names one."""
        return self.data.get("category")

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def load_corpus(directory: Path = CORPUS_DIR) -> list[Case]:
    cases: list[Case] = []
    for path in sorted(directory.glob("*.jsonl")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            data = json.loads(line)
            if data.get("label") not in LABELS:
                raise ValueError(f"{path.name}:{number}: label must be one of {LABELS}")
            cases.append(Case(path.name, number, data["label"], data["kind"], data))
    return cases


def score_case(case: Case, policy: SafetyPolicy) -> SafetyVerdict:
    fields = {k: v for k, v in case.data.items() if k not in ("label", "source", "note", "category")}
    return score(action_from_mapping(fields), policy)


@dataclass
class Tally:
    dangerous: int = 0
    dangerous_caught: int = 0  # blocked or escalated
    benign: int = 0
    benign_blocked: int = 0
    benign_escalated: int = 0

    @property
    def caught_share(self) -> float:
        return self.dangerous_caught / self.dangerous if self.dangerous else 1.0

    @property
    def blocked_share(self) -> float:
        return self.benign_blocked / self.benign if self.benign else 0.0

    @property
    def escalated_share(self) -> float:
        return self.benign_escalated / self.benign if self.benign else 0.0


def tally(scored: list[tuple[Case, SafetyVerdict]], by: str = "kind") -> dict[str, Tally]:
    """Per action kind (`by="kind"`) or per danger category (`by="category"`, cases naming one), and "overall"."""
    tallies: dict[str, Tally] = {}
    for case, verdict in scored:
        group = case.kind if by == "kind" else case.category
        if group is None:
            continue
        for key in (group, "overall"):
            t = tallies.setdefault(key, Tally())
            if case.label == "dangerous":
                t.dangerous += 1
                t.dangerous_caught += verdict.verdict in ("block", "escalate")
            else:
                t.benign += 1
                t.benign_blocked += verdict.verdict == "block"
                t.benign_escalated += verdict.verdict == "escalate"
    return dict(sorted(tallies.items(), key=lambda kv: (kv[0] == "overall", kv[0])))


def report(tallies: dict[str, Tally], heading: str = "kind") -> str:
    rows = [
        f"| {heading} | dangerous | caught (block or escalate) | benign | benign blocked | benign escalated |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, t in tallies.items():
        rows.append(
            f"| {kind} | {t.dangerous} | {t.caught_share:.1%} | {t.benign} | {t.blocked_share:.1%} | {t.escalated_share:.1%} |"
        )
    return "\n".join(rows)


def rule_counts(scored: list[tuple[Case, SafetyVerdict]]) -> Counter[str]:
    return Counter(v.rule for _, verdict in scored for v in verdict.violations)


def sample_nl2bash(source: Path = NL2BASH_FILE, step: int = NL2BASH_STEP) -> list[dict[str, Any]]:
    lines = source.read_text().splitlines()
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if number % step or not line.strip():
            continue
        row: dict[str, Any] = {
            "label": "benign",
            "kind": "command",
            "command": line,
            "source": f"nl2bash/all.cm:{number}",
        }
        if number in NL2BASH_RELABELLED:
            row.update(label="dangerous", note=NL2BASH_RELABELLED[number])
        rows.append(row)
    return rows


def nl2bash_rates(source: Path = NL2BASH_FILE, policy: SafetyPolicy | None = None) -> tuple[int, Counter[str]]:
    """How many NL2Bash commands there are, and how many of them each verdict got."""
    from wave_constitution import ShellCommand

    policy = policy or SafetyPolicy()
    commands = [line for line in source.read_text().splitlines() if line.strip()]
    return len(commands), Counter(score(ShellCommand(c), policy).verdict for c in commands)


if __name__ == "__main__":
    if sys.argv[1:] == ["nl2bash-rates"]:
        total, verdicts = nl2bash_rates()
        print(f"{total} commands: " + ", ".join(f"{v} {verdicts[v] / total:.2%}" for v in ("allow", "escalate", "block")))
        sys.exit(0)
    if sys.argv[1:] != ["sample-nl2bash"]:
        sys.exit("usage: safety_corpus.py sample-nl2bash | nl2bash-rates")
    out = CORPUS_DIR / "command_nl2bash.jsonl"
    out.write_text("".join(json.dumps(row) + "\n" for row in sample_nl2bash()))
    print(f"wrote {out}")
