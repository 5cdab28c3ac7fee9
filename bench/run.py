"""Run WAVE's benchmarks, print the figures against their targets, merge them into bench/results/latest.json.

    .venv/bin/python bench/run.py [--only store|runtime|idle|safety|orchestration|fanout|deploy|api] [--quick]

The database is WAVE_BENCH_DATABASE_URL, else WAVE_TEST_DATABASE_URL, else the local server `make up`
starts; the Kafka broker is WAVE_BENCH_KAFKA_BOOTSTRAP, else WAVE_TEST_KAFKA_BOOTSTRAP, else the local
one. Scratch databases and topics are created for the run and dropped afterwards. A missed target is
reported, not a failure: the exit status is 0 whenever the benchmarks ran. After each suite, and for
the whole run at the end, the time it took is printed against its budget (SUITES): `make bench` stays
within 10 minutes on a quiet 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import figures
import machine
import results

# A benchmark measures a set-up the tests check; it takes it from where the tests share theirs.
sys.path.append(str(Path(__file__).resolve().parents[1] / "tests" / "support"))

DEFAULT_URL = "postgresql://postgres@127.0.0.1:55432/wave"
DEFAULT_BOOTSTRAP = "127.0.0.1:19092"

# `make bench` must finish within TOTAL_BUDGET_S on a quiet 2-core machine; each suite has its share,
# printed beside the time it took. A new suite takes its share from these (sizes, set-up shared across
# figures) rather than adding to the total.
TOTAL_BUDGET_S = 600.0


@dataclass(frozen=True)
class Suite:
    module: str  # bench/<module>.py: FULL and QUICK sizes, TARGETS, measure()
    servers: tuple[str, ...]  # what measure() takes before the sizes: "database", "broker"
    budget_s: float  # its share of TOTAL_BUDGET_S, quiet machine, full sizes


SUITES: dict[str, Suite] = {
    "store": Suite("store_bench", ("database",), 45),
    "runtime": Suite("runtime_bench", ("database", "broker"), 70),
    "idle": Suite("idle_bench", (), 30),
    "safety": Suite("safety_bench", (), 15),
    "orchestration": Suite("orchestration_bench", ("database", "broker"), 100),  # langgraph: bench/requirements.txt
    "fanout": Suite("fanout_bench", ("database", "broker"), 75),  # embedded runs, then the same story distributed
    "deploy": Suite("deploy_bench", ("database", "broker"), 165),  # the whole stack as processes
    "api": Suite("api_bench", ("database",), 75),  # PostgreSQL (and SQLite): no broker
}


def database_url() -> str:
    return (
        os.environ.get("WAVE_BENCH_DATABASE_URL") or os.environ.get("WAVE_TEST_DATABASE_URL") or DEFAULT_URL
    )


def kafka_bootstrap() -> str:
    return (
        os.environ.get("WAVE_BENCH_KAFKA_BOOTSTRAP")
        or os.environ.get("WAVE_TEST_KAFKA_BOOTSTRAP")
        or DEFAULT_BOOTSTRAP
    )


def minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60} s" if whole >= 60 else f"{seconds:.0f} s"


def cpu_seconds() -> float:
    """User and system CPU time of this process and of every child process it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def duration_line(name: str, seconds: float, cpu_s: float, load: tuple[float, float], *, quick: bool) -> str:
    """How long a suite took, against its share of the total. `cpu_s`: CPU time of this process and the
    processes it started (not the servers'), which a busy machine does not inflate as it does the wall
    time; `load`: 1-minute load average before and after."""
    line = f"{name}: took {minutes(seconds)} (CPU {cpu_s:.0f} s in its processes), load {load[0]:.1f} -> {load[1]:.1f}"
    if quick:
        return line
    budget = SUITES[name].budget_s
    over = "  OVER BUDGET" if seconds > budget else ""
    return f"{line} (budget {minutes(budget)}){over}"


def durations_report(durations: dict[str, float], *, quick: bool) -> str:
    """Every suite's time and the total, against the budgets when the sizes are the full ones."""
    rows = [("suite", "took", "budget")]
    for name, seconds in durations.items():
        rows.append((name, minutes(seconds), "-" if quick else minutes(SUITES[name].budget_s)))
    total = sum(durations.values())
    budget = sum(SUITES[name].budget_s for name in durations)
    rows.append(("total", minutes(total), "-" if quick else minutes(budget)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    if not quick and total > budget:
        lines.append(f"over budget by {minutes(total - budget)}: make bench must finish within {minutes(TOTAL_BUDGET_S)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(SUITES), action="append", help="run only this suite (repeatable)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of about a minute")
    parser.add_argument(
        "--results", type=Path, default=results.DEFAULT_PATH, help="results file to merge into"
    )
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # each suite's figures show as it ends, also in a log file
    chosen = args.only or list(SUITES)
    url = database_url()

    recorded = results.Results(args.results)
    about = machine.describe()
    durations: dict[str, float] = {}
    for name, suite in SUITES.items():
        if name not in chosen:
            continue
        load_before = os.getloadavg()[0]
        started, cpu_before = time.monotonic(), cpu_seconds()
        # Imported here: a suite's dependencies (eventsourcing, aiokafka, langgraph) are only needed to run it.
        bench = importlib.import_module(suite.module)
        servers = {"database": url, "broker": kafka_bootstrap()}
        sizes = bench.QUICK if args.quick else bench.FULL
        work = bench.measure(*(servers[s] for s in suite.servers), sizes)
        try:
            found, server = asyncio.run(work)
        except OSError as exc:
            if not suite.servers:  # no server to blame
                print(f"{name}: {exc}", file=sys.stderr)
                return 2
            print(
                f"{name}: cannot reach PostgreSQL at {url} or Kafka at {kafka_bootstrap()}: {exc}\n"
                "start them with `make up`",
                file=sys.stderr,
            )
            return 2
        durations[name] = time.monotonic() - started
        cpu_s = cpu_seconds() - cpu_before
        about.update(server)
        for f in found:
            recorded.record(f.name, f.value, f.unit, f.peer, f.peer_value, f.higher_is_better)
        print(figures.report(found, bench.TARGETS, quick=args.quick))
        print(duration_line(name, durations[name], cpu_s, (load_before, os.getloadavg()[0]), quick=args.quick))
        print()
    print(durations_report(durations, quick=args.quick))
    path = recorded.save(machine=about)
    print(f"results merged into {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
