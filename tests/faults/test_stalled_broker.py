"""Row 4: SIGSTOP the leading broker for ``--fault-stall`` seconds, then SIGCONT.

A stalled broker is worse than a dead one: its sockets stay open, so clients
wait for timeouts instead of failing over at once. No event may be lost, the
producer must recover on its own, and the acknowledgement latency spike is
the figure reported.
"""

from __future__ import annotations

import signal
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.local import KafkaCluster
from schemas.catalogue import STOCK_MOVEMENTS
from tests.faults.brokers import leader_of, wait_in_sync
from tests.faults.conftest import FaultConfig
from tests.faults.pump import Pump
from tests.faults.report import Row
from tests.faults.scenario import FaultRun
from tests.faults.test_broker_loss import CLUSTER_WORKER_ENV, run_topics
from tests.integration.support import ContractEnv

pytestmark = [pytest.mark.integration, pytest.mark.cluster, pytest.mark.timeout(900)]
SHARE = 0.15
AFTER_S = 15.0  # the stream goes on this long after SIGCONT, to see the producer recover


def latency_figure(pump: Pump, stopped_at: float, resumed_at: float) -> str:
    """Median ack latency before the stall, the worst during it, when acks were fast again."""
    with pump.deliveries.lock:
        samples = list(pump.deliveries.latencies)
    before = [s for at, s in samples if at < stopped_at]
    during = [s for at, s in samples if stopped_at <= at <= resumed_at]
    fast_again = min((at + s for at, s in samples if at > resumed_at and s < 1.0), default=None)
    recovered = "never" if fast_again is None else f"{fast_again - resumed_at:.1f}s"
    p50 = statistics.median(before) * 1000 if before else 0.0
    return (
        f"ack p50 {p50:.0f}ms, max {max(during, default=0.0):.1f}s in stall; "
        f"fast again {recovered} after SIGCONT"
    )


def test_sigstop_broker(
    cluster_env: ContractEnv,
    kafka_cluster3: KafkaCluster,
    fault_config: FaultConfig,
    fault_report: Callable[[Row], None],
    tmp_path: Path,
) -> None:
    row = Row(f"4 broker SIGSTOP {fault_config.stall_s:.0f}s", fault_config.seed)
    fault_report(row)
    run = FaultRun(cluster_env, tmp_path, row, CLUSTER_WORKER_ENV)
    kafka = cluster_env.settings.kafka
    stopped: int | None = None
    try:
        run.fleet.start("w1")
        workload = run.workload(max(int(fault_config.events * SHARE), 2_000))
        run.seed_stock(workload)
        items = run.encode(workload.events)
        pump = run.pump(items, len(items) / (10 + fault_config.stall_s + AFTER_S))
        pump.wait_sent(len(items) * 10 // int(10 + fault_config.stall_s + AFTER_S))
        stopped = leader_of(kafka, STOCK_MOVEMENTS.physical(run.env.prefix), 0)
        stopped_at = time.monotonic()
        kafka_cluster3.kill_node(stopped, signal.SIGSTOP)
        run.note(f"SIGSTOP broker {stopped} (leader of movements[0]) at {pump.sent} sent")
        time.sleep(fault_config.stall_s)
        kafka_cluster3.kill_node(stopped, signal.SIGCONT)
        resumed_at = time.monotonic()
        run.note(f"SIGCONT broker {stopped} at {pump.sent} sent")
        stopped = None
        run.note(f"all replicas in sync {wait_in_sync(kafka, run_topics(run)):.1f}s later")
        run.verify(workload, [pump])
        if pump.deliveries.failed:
            row.problems.append(f"{len(pump.deliveries.failed)} deliveries failed")
        row.figure = latency_figure(pump, stopped_at, resumed_at)
    finally:
        if stopped is not None:
            kafka_cluster3.kill_node(stopped, signal.SIGCONT)
        run.close()
    assert run.clean(), "\n".join(row.problems)
