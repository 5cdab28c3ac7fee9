"""Run WAVE's benchmarks, print the figures against their targets, merge them into bench/results/latest.json.

    .venv/bin/python bench/run.py [--only store|runtime|idle|safety|orchestration|fanout|deploy|api] [--quick]

The database is WAVE_BENCH_DATABASE_URL, else WAVE_TEST_DATABASE_URL, else the local server `make up`
starts; the Kafka broker is WAVE_BENCH_KAFKA_BOOTSTRAP, else WAVE_TEST_KAFKA_BOOTSTRAP, else the local
one. Scratch databases and topics are created for the run and dropped afterwards. A missed target is
reported, not a failure: the exit status is 0 whenever the benchmarks ran.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import figures
import machine
import results

# A benchmark measures a set-up the tests check; it takes it from where the tests share theirs.
sys.path.append(str(Path(__file__).resolve().parents[1] / "tests" / "support"))

DEFAULT_URL = "postgresql://postgres@127.0.0.1:55432/wave"
DEFAULT_BOOTSTRAP = "127.0.0.1:19092"
SUITES = ("store", "runtime", "idle", "safety", "orchestration", "fanout", "deploy", "api")


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=SUITES, action="append", help="run only this suite (repeatable)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of about 40 seconds")
    parser.add_argument(
        "--results", type=Path, default=results.DEFAULT_PATH, help="results file to merge into"
    )
    args = parser.parse_args(argv)
    suites = args.only or list(SUITES)
    url = database_url()

    recorded = results.Results(args.results)
    about = machine.describe()
    for suite in SUITES:
        if suite not in suites:
            continue
        # Imported here: a suite's dependencies (eventsourcing, aiokafka) are only needed to run it.
        if suite == "store":
            import store_bench as bench

            sizes = bench.QUICK if args.quick else bench.FULL
            work = bench.measure(url, sizes)
        elif suite == "idle":
            import idle_bench as bench

            sizes = bench.QUICK if args.quick else bench.FULL
            work = bench.measure(sizes)
        elif suite == "api":  # PostgreSQL (and SQLite): no broker
            import api_bench as bench

            sizes = bench.QUICK if args.quick else bench.FULL
            work = bench.measure(url, sizes)
        elif suite == "safety":  # pure code: no database or broker
            import safety_bench as bench

            sizes = bench.QUICK if args.quick else bench.FULL
            work = bench.measure(sizes)
        elif suite == "orchestration":  # langgraph: bench/requirements.txt (`make bench` installs it)
            import orchestration_bench as bench

            sizes = bench.QUICK if args.quick else bench.FULL
            work = bench.measure(url, kafka_bootstrap(), sizes)
        elif suite == "fanout":  # embedded runs, then the same story distributed: PostgreSQL and Kafka
            import fanout_bench as bench

            sizes = bench.QUICK if args.quick else bench.FULL
            work = bench.measure(sizes, url, kafka_bootstrap())
        elif suite == "deploy":  # the whole stack as processes: PostgreSQL and Kafka
            import deploy_bench as bench

            sizes = bench.QUICK if args.quick else bench.FULL
            work = bench.measure(url, kafka_bootstrap(), sizes)
        else:
            import runtime_bench as bench

            sizes = bench.QUICK if args.quick else bench.FULL
            work = bench.measure(url, kafka_bootstrap(), sizes)
        try:
            found, server = asyncio.run(work)
        except OSError as exc:
            if suite in ("idle", "safety"):  # no server to blame
                print(f"{suite}: {exc}", file=sys.stderr)
                return 2
            print(
                f"{suite}: cannot reach PostgreSQL at {url} or Kafka at {kafka_bootstrap()}: {exc}\n"
                "start them with `make up`",
                file=sys.stderr,
            )
            return 2
        about.update(server)
        for f in found:
            recorded.record(f.name, f.value, f.unit, f.peer, f.peer_value, f.higher_is_better)
        print(figures.report(found, bench.TARGETS, quick=args.quick))
        print()
    path = recorded.save(machine=about)
    print(f"results merged into {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
