"""The 8-gate workflow with one retry and no-op effects, as WAVE's six real services run it.

Each service is the real one (its `decide` and its handler), with the effects made instant:

- the models are the scripted provider playing `CASSETTE` (a one-task plan, a change, a fix) at once;
- gitops works on `NoOpWorkspaces` (no repository: commits are ids derived from what was asked);
- the developer reads one working copy of a one-file repository (`OneCheckout`): its change is a new file;
- QA's test run (checkout and sandbox) is `FirstAttemptFails`: the first commit of a run fails its
  tests, the next one passes;
- the notifier is disabled (no Slack), as in a deployment without it.

So a run takes the same path through the gates as the peer's graph: plan, workspace, change, safety,
commit, tests (failed), retry, change, safety, commit, tests (passed), review, merge.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pygit2
import yaml
from wave_constitution import SafetyPolicy
from wave_developer import DeveloperService
from wave_developer.checkouts import Checkouts
from wave_events import catalogue as ev
from wave_gitops import Committed, GitOpsService, MergeCheck, MergeResult, Workspace, Workspaces
from wave_llm import ROLES, ModelClient, load_models_setup
from wave_notifier import NotifierService
from wave_planner import PlannerService
from wave_planner.config import PlannerConfig
from wave_qa import QAService
from wave_qa.decide import RunTests
from wave_safety import SafetyService

SERVICES = ("planner", "developer", "safety", "gitops", "qa", "notifier")
# The gates a run passes, the retry included: the peer's graph runs one node for each.
STEPS_PER_RUN = 12

_USAGE = {"input_tokens": 10, "output_tokens": 10, "model": "scripted"}


def _new_file(path: str, line: str) -> str:
    return (
        f"Rationale: adds {path}.\n```diff\ndiff --git a/{path} b/{path}\nnew file mode 100644\n"
        f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+{line}\n```\n"
    )


CASSETTE = {
    "version": 1,
    "interactions": [
        {"role": "planner", "response": {"text": json.dumps({
            "feasible": True, "summary": "one change",
            "tasks": [{"task_id": "change", "domain": "library", "description": "add notes/change.txt",
                       "acceptance_criteria": ["the file exists"], "files_of_interest": []}],
        }), **_USAGE}},
        {"role": "developer", "response": {"text": _new_file("notes/change.txt", "first"), **_USAGE}},
        {"role": "fixer", "response": {"text": _new_file("notes/fix.txt", "second"), **_USAGE}},
    ],
}


def models_file(directory: Path) -> Path:
    """A models configuration sending every role to the scripted provider playing CASSETTE."""
    cassette = directory / "cassette.json"
    cassette.write_text(json.dumps(CASSETTE))
    document = {
        "version": 1,
        "providers": {"scripted": {"kind": "scripted", "cassette": str(cassette)}},
        "routes": {role: [{"provider": "scripted", "model": "scripted", "max_failures": 1}] for role in ROLES},
        "blobs_dir": str(directory / "blobs"),
    }
    path = directory / "models.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def repository(directory: Path) -> Path:
    """The repository runs name (checked when a run is submitted): one commit on main."""
    path = directory / "repo"
    path.mkdir(parents=True, exist_ok=True)
    (path / "README.md").write_text("bench\n")
    repo = pygit2.init_repository(str(path), initial_head="main")
    repo.index.add_all()
    repo.index.write()
    who = pygit2.Signature("bench", "bench@wave.invalid")
    repo.create_commit("refs/heads/main", who, who, "start", repo.index.write_tree(), [])
    return path


def _sha(*parts: object) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()


class NoOpWorkspaces(Workspaces):
    """Workspaces without a repository: every answer derived from the question, so asking again gives
    the same answer (the port's contract for redelivered events)."""

    def __init__(self, location: str) -> None:
        self.location = location

    def prepare(self, run_id: str, target_branch: str, base_commit: str | None = None) -> Workspace:
        return Workspace(f"wave/{run_id}", _sha(run_id, "base"), self.location, self.location)

    def fork(self, run_id: str, parent_run_id: str, head_commit: str, base_commit: str) -> Workspace:
        return Workspace(f"wave/{run_id}", base_commit, self.location, self.location)

    def apply_and_commit(self, run_id: str, diff: str, role: str, trailers) -> Committed:
        parent = _sha(run_id, "base") if trailers.attempt == 1 else _sha(run_id, trailers.task_id, trailers.attempt - 1)
        return Committed(_sha(run_id, trailers.task_id, trailers.attempt), parent, f"wave/{run_id}", False)

    def check_merge(self, run_id: str, target_branch: str, strategy: str = "squash") -> MergeCheck:
        return MergeCheck(target_branch, _sha(run_id, "head"), _sha(run_id, "base"), False, False, ())

    def merge(self, run_id: str, target_branch: str, strategy: str = "squash", subject: str = "") -> MergeResult:
        return MergeResult(target_branch, _sha(run_id, "merged"), False, False)

    def cleanup(self, run_id: str) -> None:
        return None

    def push(self, run_id: str) -> None:
        return None


class OneCheckout(Checkouts):
    """Every commit reads as the one working copy of the bench's repository: the developer only reads it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def checkout(self, run_id: str, location: str, commit: str) -> Path:
        return self.directory

    def release(self, run_id: str) -> None:
        return None


class FirstAttemptFails(QAService):
    """QA deciding as ever, its test run replaced: a run's first attempt fails, the next passes."""

    def _test(self, run_id: str, decision: RunTests, stop=None, trusted=(None, "main"), cause=None):
        if decision.commit == _sha(run_id, "change", 1):
            return (ev.TestsFailed(
                commit=decision.commit, counts=ev.TestCounts(passed=1, failed=1), duration_s=0.0, sandbox="noop",
                command="pytest", failure_excerpt="AssertionError: the first attempt fails",
            ),)
        return (ev.TestsPassed(
            commit=decision.commit, counts=ev.TestCounts(passed=2), duration_s=0.0, sandbox="noop", command="pytest"
        ),)


def build(name: str, directory: Path) -> object:
    """The service `name` with its effects made instant (see the module's docstring)."""
    scratch = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=directory))

    def models() -> ModelClient:
        return ModelClient.from_setup(load_models_setup(directory / "models.yml"), cwd=directory)

    if name == "planner":
        return PlannerService(models(), config=PlannerConfig(retry_base_s=0.0, retry_cap_s=1.0))
    if name == "developer":
        return DeveloperService(models(), OneCheckout(directory / "repo"))
    if name == "safety":
        return SafetyService(SafetyPolicy())
    if name == "gitops":
        workspaces = NoOpWorkspaces(str(directory / "repo"))
        return GitOpsService(lambda repo: workspaces)
    if name == "qa":
        return FirstAttemptFails(None, None, scratch_root=scratch)
    if name == "notifier":
        return NotifierService.disabled()
    raise ValueError(f"no service {name!r}")


def services(directory: Path, names: Sequence[str] = SERVICES) -> list[object]:
    return [build(name, directory) for name in names]
