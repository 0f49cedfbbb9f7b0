"""Row 2b: a worker joins and is stopped (SIGTERM) the moment it starts processing, again and again.

The rebalance row lost events in CI each time its third worker got SIGTERM
within a second of taking partitions over; this row makes that moment the
whole schedule: partitions move to a newcomer and straight back, repeatedly,
while events flow.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.conftest import FaultConfig
from tests.faults.report import Row
from tests.faults.scenario import FaultRun
from tests.integration.support import ContractEnv

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
# Of --fault-events: 100 s of stream at RATE. Each churn (start, join, first event, SIGTERM)
# takes 10 to 15 s, 16 to 17 s beside two busy CPU hogs, and the next starts no earlier than
# the last one ended. A stream that ran out first left the last newcomer nothing to process
# (50 s of stream; 70 s beside the hogs, 2 runs in 7), so its last part is held back, trickling,
# until the last churn is done.
SHARE = 0.30
RATE = 300.0
CHURNS = 4


def test_join_and_leave_at_once_under_load(
    fault_env: ContractEnv,
    fault_config: FaultConfig,
    fault_report: Callable[[Row], None],
    tmp_path: Path,
) -> None:
    row = Row("2b join+leave at once x4", fault_config.seed)
    fault_report(row)
    run = FaultRun(fault_env, tmp_path, row)
    try:
        run.fleet.start("w1")
        workload = run.workload(max(int(fault_config.events * SHARE), 2_000))
        run.seed_stock(workload)
        items = run.encode(workload.events)
        pump = run.pump(items, RATE, hold_at=len(items) * (CHURNS + 1) // (CHURNS + 2))
        for n in range(1, CHURNS + 1):
            # The last churn still has a third of the stream left to take partitions on.
            pump.wait_sent(len(items) * n // (CHURNS + 2))
            name = f"c{n}"
            run.fleet.start(name)
            waited = run.fleet.wait_processing(name)
            assert waited is not None, run.fleet.tails()
            run.fleet.stop(name, signal.SIGTERM)
            run.note(f"{name} joined, processed after {waited:.1f}s, stopped at once")
        pump.release()
        run.verify(workload, [pump])
        row.figure = f"{CHURNS} joins each stopped on its first event"
    finally:
        run.close()
    assert run.clean(), "\n".join(row.problems)
