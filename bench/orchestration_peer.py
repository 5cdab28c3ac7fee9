"""The peer: the same 8-gate workflow as a LangGraph `StateGraph` on `AsyncPostgresSaver`.

One node per gate (plan, workspace, change, safety, commit, tests, review, merge), each a no-op, and
the retry edge from tests back to change: the first attempt fails its tests, the second passes, as in
WAVE's bench flow. Each run is one thread; checkpoints are written with synchronous durability (the
next step starts only once the previous one's checkpoint is committed), to a PostgreSQL database of
its own on the same server as WAVE's.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TypedDict

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import END, START, StateGraph
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

NAME = "LangGraph StateGraph on AsyncPostgresSaver (durability=sync)"
GATES = ("plan", "workspace", "change", "safety", "commit", "tests", "review", "merge")


class Run(TypedDict):
    story: str
    attempt: int
    passed: bool
    gates: list[str]


def _gate(name: str):
    async def step(state: Run) -> dict:
        update: dict = {"gates": [*state["gates"], name]}
        if name == "change":
            update["attempt"] = state["attempt"] + 1
        if name == "tests":
            update["passed"] = state["attempt"] >= 2  # the first attempt fails
        return update

    return step


def graph(checkpointer: AsyncPostgresSaver):
    builder = StateGraph(Run)
    for name in GATES:
        builder.add_node(name, _gate(name))
    builder.add_edge(START, "plan")
    for before, after in zip(GATES, GATES[1:], strict=False):
        if before != "tests":
            builder.add_edge(before, after)
    builder.add_conditional_edges("tests", lambda state: "review" if state["passed"] else "change", ["review", "change"])
    builder.add_edge("merge", END)
    return builder.compile(checkpointer=checkpointer)


class Peer:
    """The compiled graph on a pool of `size` connections to `url`."""

    def __init__(self, url: str, size: int) -> None:
        self.url, self.size = url, size

    async def __aenter__(self) -> Peer:
        self.pool = AsyncConnectionPool(
            self.url, min_size=self.size, max_size=self.size, open=False,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        )
        await self.pool.open(wait=True)
        self.checkpointer = AsyncPostgresSaver(self.pool)
        await self.checkpointer.setup()
        self.graph = graph(self.checkpointer)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.pool.close()

    async def run(self) -> int:
        """One run to its end; returns the gates it stepped through (its durable steps)."""
        config = {"configurable": {"thread_id": uuid.uuid4().hex}}
        final = await self.graph.ainvoke(
            {"story": "bench story", "attempt": 0, "passed": False, "gates": []}, config, durability="sync"
        )
        if final["gates"][-1] != "merge" or not final["passed"]:
            raise RuntimeError(f"the peer's run ended at {final['gates'][-1]!r}")
        return len(final["gates"])

    async def many(self, runs: int, concurrency: int) -> tuple[int, float]:
        """`runs` runs, `concurrency` at a time; (steps, seconds)."""
        left = iter(range(runs))
        steps = 0

        async def worker() -> None:
            nonlocal steps
            for _ in left:
                taken = await self.run()
                steps += taken

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return steps, time.perf_counter() - started
