"""`make bench`: every row in one run, on one broker, with the same pre-produced events.

    python -m tests.bench.run [--quick] [--rows B1,B4] [--profile]

Starts the local broker and registry when ``OMNI_BOOTSTRAP_SERVERS`` and
``OMNI_SCHEMA_REGISTRY_URL`` do not point at running ones (and stops them
afterwards if it started them), registers the contract under a fresh prefix,
runs the rows, prints the table and writes ``bench-results/latest.{json,md}``.
Targets are reported, never asserted: the exit code is non-zero only when a
row failed to run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from schemas.settings import Settings
from tests.bench import report
from tests.bench.env import bench_env, broker_and_registry
from tests.bench.report import Row


@dataclass(frozen=True)
class Plan:
    """Sizes of one run: ``full`` is `make bench`, ``quick`` is CI's `make bench-quick`."""

    events: int
    keys: int  # B4/B6: keys in the rebuilt tables (customers)
    query_seconds: float
    latency_seconds: float
    ingest_events: int
    baselines: tuple[str, ...]
    drain_seconds: float  # B2: how long a view may take before it counts as missing

    @classmethod
    def full(cls) -> Plan:
        return cls(300_000, 1_000_000, 15.0, 20.0, 200_000, ("naive", "quix", "ceiling"), 30.0)

    @classmethod
    def quick(cls) -> Plan:
        return cls(5_000, 10_000, 2.0, 1.5, 10_000, ("naive", "quix", "ceiling"), 3.0)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~1 minute, for CI")
    parser.add_argument("--rows", default=",".join(report.ROWS))
    parser.add_argument("--events", type=int, help="B1 workload size (default by plan)")
    parser.add_argument("--keys", type=int, help="B4/B6 table keys (default by plan)")
    parser.add_argument("--baselines", help="comma list of naive,quix,ceiling; '' for none")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the B1, B2 (1k/s), B5 workers"
    )
    parser.add_argument("--out", type=Path, default=report.RESULTS, help="where latest.* go")
    args = parser.parse_args(argv)
    plan = Plan.quick() if args.quick else Plan.full()
    plan = Plan(
        args.events or plan.events,
        args.keys or plan.keys,
        plan.query_seconds,
        plan.latency_seconds,
        plan.ingest_events,
        tuple(b for b in args.baselines.split(",") if b)
        if args.baselines is not None
        else plan.baselines,
        plan.drain_seconds,
    )
    wanted = [r.strip() for r in args.rows.split(",") if r.strip()]
    from tests.bench import rows

    failed = False
    started = time.monotonic()
    with (
        broker_and_registry(Settings()) as settings,
        tempfile.TemporaryDirectory(prefix="omni-bench-") as tmp,
        bench_env(settings, Path(tmp)) as env,
    ):
        state = rows.State(env, plan, args.profile)
        results: list[Row] = []
        for key in report.ROWS:
            if key not in wanted:
                continue
            runner: Callable[[rows.State], Row] = rows.RUNNERS[key]
            print(f"--- {key} ...", flush=True)
            row_started = time.monotonic()
            try:
                row = runner(state)
            except Exception as exc:  # a failed row is reported, and fails the run
                traceback.print_exc()
                row = report.not_measured(key, rows.TITLES[key], f"failed: {exc!r:.200}")
                failed = True
            row.details["row_seconds"] = round(time.monotonic() - row_started, 1)
            print(f"{key} ({row.details['row_seconds']} s): {row.summary}", flush=True)
            results.append(row)
        state.close()
    extra = {"seconds": round(time.monotonic() - started, 1), "plan": plan.__dict__}
    print(report.write(results, args.quick, extra, args.out))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
