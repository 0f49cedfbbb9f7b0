"""Row 7: a worker loses its local RocksDB state and rebuilds it from the changelogs.

Recovery from a compacted changelog is where Faust has hung before (#176,
#597, #651). The worker is stopped, its state directory deleted, and it is
started again while the stream goes on; the second half of the stream ends
with one change to every SKU and every shopper, so each of their views is
emitted again from the rebuilt state and compared with the replay.
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
SHARE = 0.1
RATE = 1_200.0


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def test_state_rebuilt_from_changelogs(
    fault_env: ContractEnv,
    fault_config: FaultConfig,
    fault_report: Callable[[Row], None],
    tmp_path: Path,
) -> None:
    row = Row("7 lost RocksDB state", fault_config.seed)
    fault_report(row)
    run = FaultRun(fault_env, tmp_path, row)
    try:
        run.fleet.start("w1")
        workload = run.workload(max(int(fault_config.events * SHARE), 2_000), touch=True)
        run.seed_stock(workload)
        items = run.encode(workload.events)
        half = len(items) // 2
        first = run.pump(items[:half], RATE)
        run.settle(workload, [first])
        run.fleet.stop("w1", signal.SIGTERM)
        state = run.fleet.state_dir("w1")
        run.note(f"w1 stopped; deleting its state ({size_mb(state):.1f} MB)")
        run.fleet.wipe_state("w1")
        started = time.monotonic()
        run.fleet.start("w1")
        second = run.pump(items[half:], RATE)
        restored = run.fleet.wait_processing("w1")
        assert restored is not None, f"w1 never processed after the restore\n{run.fleet.tails()}"
        restore_s = time.monotonic() - started
        run.note(f"w1 restored and processing {restore_s:.1f}s after start")
        run.verify(workload, [first, second])
        row.figure = f"restore {restore_s:.1f}s from changelogs"
    finally:
        run.close()
    assert run.clean(), "\n".join(row.problems)
