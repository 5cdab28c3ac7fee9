"""What waiting costs in the embedded runtime (`wave run` without servers), on SQLite in a scratch directory.

- idle CPU: the embedded runtime with six services, one of which scheduled a timer 10 s away (the set-up
  tests/integration/runtime/test_embedded_idle.py checks, shared in tests/support/waiting_runtime.py);
  the process's CPU time (`time.process_time`) over a few seconds of waiting, as a share of one core.
- QA overhead: QA inside the embedded runtime on the demo repository (examples/sample-repo) in the
  bubblewrap sandbox; from the ChangeCommitted's append to its TestsPassed being stored, minus the test
  command's own duration (checkout, sandbox set-up, reports, clean-up, and the runtime's waiting).
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from figures import Figure, Target
from waiting_runtime import CpuUse, bystanders, waiting_runtime
from wave_events import Envelope, new_envelope, run_stream_id
from wave_events import catalogue as c
from wave_runtime import EmbeddedRuntime, FileDeadLetters
from wave_store.sqlite import SqliteEventStore

SAMPLE_REPO = Path(__file__).resolve().parents[1] / "examples" / "sample-repo"


@dataclass(frozen=True)
class Sizes:
    idle_seconds: float  # how long the waiting runtime is measured
    qa_runs: int  # runs tested by QA; the median overhead is the figure


FULL = Sizes(idle_seconds=5, qa_runs=3)
QUICK = Sizes(idle_seconds=2, qa_runs=1)

TARGETS: dict[str, Target] = {
    "runtime.idle_cpu_percent": Target(2, None),
    "qa.overhead_s": Target(1, None),
}


async def measure(sizes: Sizes) -> tuple[list[Figure], dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="wave-bench-idle-") as scratch:
        idle = await idle_cpu(Path(scratch) / "idle", sizes.idle_seconds)
        overhead = await qa_overhead(Path(scratch) / "qa", sizes.qa_runs)
    return [idle, overhead], {}


# --- idle CPU -------------------------------------------------------------------------------------


async def idle_cpu(directory: Path, seconds: float) -> Figure:
    directory.mkdir(parents=True)  # noqa: ASYNC240 - set-up, before anything is timed
    async with waiting_runtime(directory, delay_s=10):
        with CpuUse() as used:
            await asyncio.sleep(seconds)
    share = cpu_percent(used.cpu_s, used.wall_s)
    return Figure(
        "runtime.idle_cpu_percent", share, "%", None, False,
        f"6 services and the timer poller waiting {seconds:g} s for a timer due in 10 s; CPU time / wall time",
    )


def cpu_percent(cpu_s: float, wall_s: float) -> float:
    """CPU time as a percentage of one core over `wall_s` seconds."""
    if wall_s <= 0:
        raise ValueError(f"cannot make a CPU share of {wall_s} s")
    return 100 * cpu_s / wall_s


# --- QA overhead ----------------------------------------------------------------------------------


def qa_overhead_s(committed_at: float, passed_at: float, test_duration_s: float) -> float:
    """QA's own time for one commit: ChangeCommitted appended to TestsPassed stored, less the tests' run."""
    if passed_at < committed_at:
        raise ValueError("TestsPassed cannot be stored before its ChangeCommitted")
    return max(0.0, passed_at - committed_at - test_duration_s)


async def qa_overhead(directory: Path, runs: int) -> Figure:
    from wave_qa import BubblewrapSandbox, GitCheckout, QAService, bubblewrap_works

    if not bubblewrap_works():
        raise OSError("bubblewrap cannot build a sandbox on this host (make setup installs it)")
    directory.mkdir(parents=True)  # noqa: ASYNC240 - set-up, before anything is timed
    repo, base, head = _sample_repo(directory / "repo")
    store = SqliteEventStore(directory / "wave.db")
    samples: list[float] = []
    tests: list[float] = []
    try:
        qa = QAService(BubblewrapSandbox(), GitCheckout(), scratch_root=directory / "scratch")
        for _ in range(runs):
            run_id = uuid.uuid4().hex[:12]
            await _append(store, _reviewed_run(run_id, str(repo), base))
            async with EmbeddedRuntime(store, [qa, *bystanders(5)], FileDeadLetters(directory / "dead.jsonl"),
                                       only_run=run_id) as runtime:
                await runtime.drain()
                committed = _envelope(run_id, c.ChangeCommitted(task_id="t1", attempt=1, commit=head, parent=base,
                                                                branch=f"wave/{run_id}"))
                committed_at = time.monotonic()
                await _append(store, [committed])
                passed, passed_at = await _outcome(store, run_id, timeout_s=300)
            if passed.type != "TestsPassed":
                raise RuntimeError(f"QA did not pass the sample repository: {passed.type}: {passed.payload}")
            tests.append(passed.payload.duration_s)
            samples.append(qa_overhead_s(committed_at, passed_at, passed.payload.duration_s))
    finally:
        await store.close()
    return Figure(
        "qa.overhead_s", statistics.median(samples), "s", None, False,
        f"median of {runs} commits of examples/sample-repo in bubblewrap, 5 idle services beside QA; "
        f"tests took {statistics.median(tests):.2f} s; overheads {', '.join(f'{s:.2f}' for s in samples)} s",
    )


def _sample_repo(path: Path) -> tuple[Path, str, str]:
    """A git copy of the demo repository with one more commit (the change QA tests): (path, base, head)."""
    shutil.copytree(SAMPLE_REPO, path)

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@wave.invalid", *args],
                              cwd=path, capture_output=True, text=True, check=True, timeout=60)
        return done.stdout.strip()

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "sample")
    base = git("rev-parse", "HEAD")
    (path / "CHANGELOG.md").write_text("- prices include tax\n")
    git("add", "-A")
    git("commit", "-q", "-m", "change")
    return path, base, git("rev-parse", "HEAD")


def _reviewed_run(run_id: str, location: str, base: str) -> list[Envelope]:
    """A run up to the moment its one task's change is allowed: the next ChangeCommitted sends it to QA."""
    proposed = _envelope(run_id, c.ChangeProposed(task_id="t1", attempt=1, diff="--- a/x\n+++ b/x\n", base_commit=base))
    return [
        _envelope(run_id, c.RunRequested(story="make prices include tax", repo=location, budget_usd=1.0)),
        _envelope(run_id, c.PlanCreated(tasks=(c.PlanTask(task_id="t1", domain="backend", description="do t1",
                                                          acceptance_criteria=("tests pass",)),))),
        _envelope(run_id, c.WorkspaceReady(branch=f"wave/{run_id}", base_commit=base, location=location)),
        proposed,
        _envelope(run_id, c.ActionScored(target_event_id=proposed.event_id, action_kind="diff", task_id="t1", attempt=1,
                                         score=0.95, verdict="allow", policy_version="policy-1")),
    ]


def _envelope(run_id: str, payload) -> Envelope:
    return new_envelope(run_stream_id(run_id), payload, producer="bench")


async def _append(store: SqliteEventStore, events: Sequence[Envelope]) -> None:
    stream_id = events[0].stream_id
    await store.append(stream_id, list(events), await store.stream_version(stream_id))


async def _outcome(store: SqliteEventStore, run_id: str, *, timeout_s: float) -> tuple[Envelope, float]:
    """QA's TestsPassed or TestsFailed on the run, and when this process saw it stored."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        position = await store.last_position()
        for envelope in await store.read_stream(run_stream_id(run_id)):
            if envelope.type in ("TestsPassed", "TestsFailed"):
                return envelope, time.monotonic()
        await store.wait_for_append(position, deadline - time.monotonic())
    raise TimeoutError(f"QA stored no test result for run {run_id} within {timeout_s:g} s")
