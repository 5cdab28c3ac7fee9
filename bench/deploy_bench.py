"""Scale-out: runs per minute of the whole distributed stack with 1 and with 3 developer instances.

The stack is what `wave demo --distributed` starts (`wave_cli.demo.Stack`: the relay and each
service its own process) on a scratch database and topics of its own (6 partitions, the default),
with two QA instances and one of each other role; only the number of developer instances changes.
`runs` runs of the demo story are submitted at once, each playing the demo cassette with every
developer and fixer answer taking `model_latency_ms` (the cassette's `latency_ms`: a model's
latency, waited and not computed). A warm-up run goes first, so every process has joined its group.

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
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

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


FULL = Sizes(runs=12, model_latency_ms=3000, timeout_s=420)
QUICK = Sizes(runs=4, model_latency_ms=1000, timeout_s=240)

TARGETS: dict[str, Target] = {
    "deploy.runs_per_minute_1_developer": Target(0, None),
    "deploy.runs_per_minute_3_developers": Target(0, None),
    "deploy.scale_out_ratio": Target(1.0, None),  # replicas must at least not slow runs down
}


async def measure(url: str, bootstrap: str, sizes: Sizes) -> tuple[list[Figure], dict[str, object]]:
    prefix = f"wavebench.{secrets.token_hex(4)}"
    rates: dict[int, float] = {}
    try:
        async with scratch_databases(url, "scale1", "scale3") as urls:
            for developers in (1, 3):
                topics = Topics(f"{prefix}.scale{developers}")
                rates[developers] = await _runs_per_minute(urls[f"scale{developers}"], bootstrap, topics, developers, sizes)
    finally:
        await delete_topics_of(bootstrap, prefix)
    detail = f"{sizes.runs} demo runs at once, developer/fixer answers {sizes.model_latency_ms / 1000:g} s (simulated), 2 QA instances"
    ratio = rates[3] / rates[1]
    return [
        Figure("deploy.runs_per_minute_1_developer", rates[1], "runs/min", None, True, detail),
        Figure("deploy.runs_per_minute_3_developers", rates[3], "runs/min", None, True, detail),
        Figure("deploy.scale_out_ratio", ratio, "x", None, True, "runs/min with 3 developer instances / with 1"),
    ], {"scale_out_runs": sizes.runs, "scale_out_model_latency_ms": sizes.model_latency_ms}


async def _runs_per_minute(url: str, bootstrap: str, topics: Topics, developers: int, sizes: Sizes) -> float:
    await ensure_topics(bootstrap, topics)
    files = demo_files(EXAMPLES)
    story = files.story.read_text(encoding="utf-8").strip()
    cassette = cassette_document(with_latency(load_cassette(files.cassette), sizes.model_latency_ms, ("developer", "fixer")))
    scratch = Path(tempfile.mkdtemp(prefix=f"wave-bench-scale{developers}-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAVE_")}
    env.update(
        WAVE_DATABASE_URL=url, WAVE_KAFKA_BOOTSTRAP=bootstrap, WAVE_TOPIC_PREFIX=topics.prefix,
        WAVE_HOME=str(scratch / "home"), WAVE_QA_SCRATCH_ROOT=str(scratch / "qa"), WAVE_LOG_LEVEL="WARNING",
        WAVE_RETRY_BASE_S="0.2", WAVE_RETRY_CAP_S="1",
    )  # fmt: skip
    stack = Stack([*OTHER_ROLES, *["developer"] * developers], env, scratch / "logs")
    store = await PostgresEventStore.connect(url, max_size=4)
    try:
        stack.start()
        async with asyncio.timeout(sizes.timeout_s):
            await _runs(store, files, story, cassette, scratch, 1, stack)  # warm-up: every process has joined
            started = time.monotonic()
            await _runs(store, files, story, cassette, scratch, sizes.runs, stack)
            return sizes.runs / ((time.monotonic() - started) / 60)
    finally:
        stack.stop()
        await store.close()
        shutil.rmtree(scratch, ignore_errors=True)


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
