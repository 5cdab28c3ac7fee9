"""Scale-out: runs per minute of the whole distributed stack with 1 and with 3 developer instances.

The stack is what `wave demo --distributed` starts (`wave_cli.demo.Stack`: the relay and each
service its own process) on a scratch database and topics of its own (6 partitions, the default),
with two QA instances, one of each other role and 3 developer instances. It is measured, then two of
the developers stop (leaving the group to the one left) and the same stack is measured again: only the
number of developer instances changes, and the stack starts once. Each time `runs` runs of the demo
story are submitted at once, each playing the demo cassette with every developer and fixer answer
taking `model_latency_ms` (the cassette's `latency_ms`: a model's latency, waited and not computed).
A warm-up run goes first, so every process has joined its group; before the second measurement the
developers' group is waited for until it is stable again with one member.

Why a simulated latency: on this 2-core machine, CPU-bound work cannot go faster with more
processes, so a ratio of scripted answers at once would measure the CPU, not the deployment. With
the developer's answers taking as long as a real model's, the developer role is where runs queue,
and the ratio shows how much more of that waiting 3 instances overlap than 1. One instance already
handles its partitions side by side (`KafkaServiceRunner`), so the ratio is not the instance count.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from consumer_groups import group_is_stable
from figures import Figure, Target
from runtime_bench import _delete_topics as delete_topics_of
from scratch_db import scratch_databases
from wave_app import commands
from wave_cli.demo import Stack, demo_files, fresh_repository
from wave_events import run_stream_id
from wave_events.projections import fold
from wave_llm import cassette_document, load_cassette, with_latency
from wave_runtime.kafka import Topics, ensure_topics
from wave_store.postgres import PostgresEventStore

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
OTHER_ROLES = ["planner", "gitops", "safety", "notifier", "qa", "qa"]


@dataclass(frozen=True)
class Sizes:
    runs: int  # submitted at once, per configuration
    model_latency_ms: float  # each developer and fixer answer
    timeout_s: float  # per configuration, warm-up included


FULL = Sizes(runs=8, model_latency_ms=3000, timeout_s=420)
QUICK = Sizes(runs=2, model_latency_ms=500, timeout_s=240)
DEVELOPERS = 3  # the stack starts with this many; all but one are stopped for the second measurement

TARGETS: dict[str, Target] = {
    "deploy.runs_per_minute_1_developer": Target(0, None),
    "deploy.runs_per_minute_3_developers": Target(0, None),
    "deploy.scale_out_ratio": Target(1.0, None),  # replicas must at least not slow runs down
}


async def measure(url: str, bootstrap: str, sizes: Sizes) -> tuple[list[Figure], dict[str, object]]:
    prefix = f"wavebench.{secrets.token_hex(4)}"
    try:
        async with scratch_databases(url, "scale") as urls:
            rates = await _runs_per_minute(urls["scale"], bootstrap, Topics(f"{prefix}.scale"), sizes)
    finally:
        await delete_topics_of(bootstrap, prefix)
    detail = f"{sizes.runs} demo runs at once, developer/fixer answers {sizes.model_latency_ms / 1000:g} s (simulated), 2 QA instances"
    ratio = rates[3] / rates[1]
    return [
        Figure("deploy.runs_per_minute_1_developer", rates[1], "runs/min", None, True,
               f"{detail}; the same stack after developer-2 and -3 left the group"),
        Figure("deploy.runs_per_minute_3_developers", rates[3], "runs/min", None, True, detail),
        Figure("deploy.scale_out_ratio", ratio, "x", None, True, "runs/min with 3 developer instances / with 1"),
    ], {"scale_out_runs": sizes.runs, "scale_out_model_latency_ms": sizes.model_latency_ms}  # fmt: skip


async def _runs_per_minute(url: str, bootstrap: str, topics: Topics, sizes: Sizes) -> dict[int, float]:
    """{developer instances: runs per minute}: one stack, measured with 3 developer instances after a
    warm-up run (every process has joined its group), then with 1 once the other two have stopped
    (SIGTERM: each leaves the group) and the group has settled on the one left with all partitions."""
    await ensure_topics(bootstrap, topics)
    files = demo_files(EXAMPLES)
    story = files.story.read_text(encoding="utf-8").strip()
    cassette = cassette_document(with_latency(load_cassette(files.cassette), sizes.model_latency_ms, ("developer", "fixer")))
    scratch = Path(tempfile.mkdtemp(prefix="wave-bench-scale-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAVE_")}
    env.update(
        WAVE_DATABASE_URL=url, WAVE_KAFKA_BOOTSTRAP=bootstrap, WAVE_TOPIC_PREFIX=topics.prefix,
        WAVE_HOME=str(scratch / "home"), WAVE_QA_SCRATCH_ROOT=str(scratch / "qa"), WAVE_LOG_LEVEL="WARNING",
        WAVE_RETRY_BASE_S="0.2", WAVE_RETRY_CAP_S="1",
    )  # fmt: skip
    stack = Stack([*OTHER_ROLES, *["developer"] * DEVELOPERS], env, scratch / "logs")
    store = await PostgresEventStore.connect(url, max_size=4)
    rates: dict[int, float] = {}

    async def timed(developers: int) -> None:
        started = time.monotonic()
        await _runs(store, files, story, cassette, scratch, sizes.runs, stack)
        rates[developers] = sizes.runs / ((time.monotonic() - started) / 60)

    try:
        stack.start()
        async with asyncio.timeout(sizes.timeout_s):
            await _runs(store, files, story, cassette, scratch, 1, stack)  # warm-up: every process has joined
            await timed(DEVELOPERS)
        async with asyncio.timeout(sizes.timeout_s):
            await asyncio.to_thread(_leave, stack, [f"developer-{n}" for n in range(2, DEVELOPERS + 1)])
            while not await group_is_stable(bootstrap, topics.group("developer"), 1):  # noqa: ASYNC110
                await asyncio.sleep(0.5)
            await timed(1)
        return rates
    finally:
        stack.stop()
        await store.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _leave(stack: Stack, instances: list[str], grace_s: float = 20.0) -> None:
    """Stop these instances as `Stack.stop` does (SIGTERM: finish, leave the group) and forget them."""
    leaving = [stack.processes.pop(name) for name in instances]
    for process in leaving:
        process.send_signal(signal.SIGTERM)
    for process in leaving:
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _runs(store, files, story: str, cassette: str, scratch: Path, count: int, stack: Stack) -> None:
    """Submit `count` runs at once and wait until every one has merged."""
    base = len(list((scratch / "repos").glob("*"))) if (scratch / "repos").exists() else 0
    repos = [fresh_repository(files.repo, scratch / "repos" / f"r{base + i}") for i in range(count)]
    run_ids = await asyncio.gather(*(
        commands.submit_run(store, actor="bench", story=story, repo=str(r), budget_usd=1.0, cassette=cassette) for r in repos
    ))  # fmt: skip
    while True:
        stack.check()
        statuses = [fold(await store.read_stream(run_stream_id(r))).status for r in run_ids]
        if all(s not in ("running", "unknown") for s in statuses):
            break
        await asyncio.sleep(0.25)
    if set(statuses) != {"completed"}:
        print(f"deploy: runs ended {sorted(statuses)}; logs in {scratch / 'logs'}", file=sys.stderr)
        raise RuntimeError(f"not every run merged: {sorted(statuses)}")
