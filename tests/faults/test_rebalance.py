"""Row 2: scale 1 -> 2 -> 3 workers and back to 1 (SIGTERM) while events flow.

Partitions and their tables move between workers four times; Faust's open
duplicate-on-rebalance bugs (faust-streaming #323, #517) would show as
double-applied changes, a table that moved without its changelog as lost ones.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.conftest import FaultConfig
from tests.faults.report import Row
from tests.faults.scenario import FaultRun
from tests.integration.support import ContractEnv

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
SHARE = 0.15  # of --fault-events
RATE = 300.0  # records a second: ~50 s of stream, so a joining worker (up to ~15 s) still
# finds events flowing when it is ready, and the four rebalances happen under load
STEPS = (("join", "w2"), ("join", "w3"), ("leave", "w3"), ("leave", "w2"))


def test_scale_out_and_in_under_load(
    fault_env: ContractEnv,
    fault_config: FaultConfig,
    fault_report: Callable[[Row], None],
    tmp_path: Path,
) -> None:
    row = Row("2 rebalance 1>2>3>1", fault_config.seed)
    fault_report(row)
    run = FaultRun(fault_env, tmp_path, row)
    try:
        run.fleet.start("w1")
        workload = run.workload(max(int(fault_config.events * SHARE), 2_000))
        run.seed_stock(workload)
        items = run.encode(workload.events)
        pump = run.pump(items, RATE)
        took = []
        for n, (action, name) in enumerate(STEPS, 1):
            pump.wait_sent(len(items) * n // (len(STEPS) + 1))
            started = time.monotonic()
            if action == "join":
                run.fleet.start(name)
                assert run.fleet.wait_processing(name) is not None, run.fleet.tails()
            else:
                run.fleet.stop(name, signal.SIGTERM)
            took.append(time.monotonic() - started)
            run.note(f"{action} {name}: {took[-1]:.1f}s, running {run.fleet.running()}")
        run.verify(workload, [pump])
        row.figure = "step s: " + " ".join(f"{s:.1f}" for s in took)
    finally:
        run.close()
    assert run.clean(), "\n".join(row.problems)
