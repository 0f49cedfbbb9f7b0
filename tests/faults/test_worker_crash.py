"""Row 1: ``kill -9`` a worker at random points while events flow, restart it each time.

Faust's open bugs this row guards against: offsets skipped after a failure
(robinhood #604, faust-streaming #315) and effects applied twice on redelivery.
The views must equal the replay: 0 lost, 0 double-applied, 0 differing keys.

Each kill costs about a session timeout whatever the load: a killed member
never leaves its consumer group, so the restarted worker processes nothing
until the group drops the dead member (``OMNI_STREAMS__SESSION_TIMEOUT_S``).
The row runs its worker with 6 s rather than the default 10 s to keep the
suite short; the recovery time it reports is that plus the restart. The
stream keeps flowing meanwhile, so each restart also works through a backlog.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.conftest import FaultConfig
from tests.faults.report import Row
from tests.faults.scenario import FaultRun
from tests.integration.support import ContractEnv

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]
SESSION_TIMEOUT_S = 6.0
RECOVERY_S = 12.0  # per kill: the session timeout, the restart, some backlog
HEAD_S = 6.0  # of stream before the first slot, and after the last


def stream_seconds(kills: int) -> float:
    """How long the stream lasts: a recovery slot per kill, plus a head and a tail."""
    return kills * RECOVERY_S + 2 * HEAD_S


def kill_points(rng: random.Random, total: int, kills: int) -> list[int]:
    """Where to kill, as counts of records sent: kill n a few random seconds after
    ``HEAD_S + n * RECOVERY_S`` of stream, so each lands just after the worker came
    back from the previous one, while it works through the backlog and new events flow."""
    rate = total / stream_seconds(kills)
    return [int(rate * (HEAD_S + n * RECOVERY_S + rng.uniform(0, 5))) for n in range(kills)]


def test_kill_9_worker_during_stream(
    fault_env: ContractEnv,
    fault_config: FaultConfig,
    fault_report: Callable[[Row], None],
    tmp_path: Path,
) -> None:
    row = Row("1 worker kill -9 x" + str(fault_config.kills), fault_config.seed)
    fault_report(row)
    session = {"OMNI_STREAMS__SESSION_TIMEOUT_S": str(SESSION_TIMEOUT_S)}
    run = FaultRun(fault_env, tmp_path, row, extra_env=session)
    try:
        run.fleet.start("w1")
        workload = run.workload(fault_config.events)
        run.seed_stock(workload)
        items = run.encode(workload.events)
        # Spread the stream over the kills, so every kill lands while events flow.
        rate = len(items) / stream_seconds(fault_config.kills)
        rng = random.Random(fault_config.seed + 1)
        points = kill_points(rng, len(items), fault_config.kills)
        run.note(f"kill points (records sent): {points}")
        pump = run.pump(items, rate)
        recoveries: list[float] = []
        for point in points:
            pump.wait_sent(point)
            time.sleep(rng.uniform(0, 1))
            killed_at = time.monotonic()
            pid = run.fleet.kill("w1")
            run.note(f"kill -9 w1 (pid {pid}) at {pump.sent} sent")
            ready = run.fleet.start("w1")
            processing = run.fleet.wait_processing("w1")
            assert processing is not None, f"w1 never processed after restart\n{run.fleet.tails()}"
            recoveries.append(time.monotonic() - killed_at)
            run.note(
                f"w1 restarted: ready {ready:.1f}s, processing {recoveries[-1]:.1f}s after kill"
            )
        run.verify(workload, [pump])
        if recoveries:
            mean = sum(recoveries) / len(recoveries)
            row.figure = f"recovery max {max(recoveries):.1f}s mean {mean:.1f}s"
    finally:
        run.close()
    assert run.clean(), "\n".join(row.problems)
