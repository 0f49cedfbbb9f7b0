"""Row 3: three brokers (RF 3, min ISR 2, acks=all, no unclean election); kill -9 a leader.

Three times, the broker leading partition 0 of the movements topic is killed
while events flow and restarted once the stream has run on without it; the
next kill waits until every replica is back in sync. The promise under test:
every event acknowledged to a client reaches the views.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.local import KafkaCluster
from schemas import admin as topic_admin
from schemas.catalogue import STOCK_MOVEMENTS
from tests.faults.brokers import leader_of, wait_in_sync
from tests.faults.conftest import FaultConfig
from tests.faults.pump import Pump
from tests.faults.report import Row
from tests.faults.scenario import FaultRun
from tests.integration.support import ContractEnv

pytestmark = [pytest.mark.integration, pytest.mark.cluster, pytest.mark.timeout(900)]
SHARE = 0.15
RATE = 700.0
KILLS = 3
# Faust creates its changelogs itself: replicate them like the catalogue's topics.
CLUSTER_WORKER_ENV = {
    "OMNI_TOPICS__REPLICATION_FACTOR": "3",
    "OMNI_TOPICS__MIN_INSYNC_REPLICAS": "2",
}


def run_topics(run: FaultRun) -> list[str]:
    """The run's topics: the catalogue's under its prefix and Faust's under its app id."""
    admin = topic_admin.make_admin(run.env.settings.kafka)
    names = topic_admin.existing_topics(admin)
    return [n for n in names if n.startswith((run.env.prefix, run.app_id))]


def max_latency(pump: Pump) -> float:
    with pump.deliveries.lock:
        return max((seconds for _, seconds in pump.deliveries.latencies), default=0.0)


def test_kill_9_partition_leader(
    cluster_env: ContractEnv,
    kafka_cluster3: KafkaCluster,
    fault_config: FaultConfig,
    fault_report: Callable[[Row], None],
    tmp_path: Path,
) -> None:
    row = Row(f"3 broker leader kill -9 x{KILLS}", fault_config.seed)
    fault_report(row)
    run = FaultRun(cluster_env, tmp_path, row, CLUSTER_WORKER_ENV)
    kafka = cluster_env.settings.kafka
    down: int | None = None
    try:
        run.fleet.start("w1")
        workload = run.workload(max(int(fault_config.events * SHARE), 2_000))
        run.seed_stock(workload)
        items = run.encode(workload.events)
        pump = run.pump(items, RATE)
        rng = random.Random(fault_config.seed + 3)
        catch_up = []
        for n in range(1, KILLS + 1):
            pump.wait_sent(len(items) * n // (KILLS + 1))
            down = leader_of(kafka, STOCK_MOVEMENTS.physical(run.env.prefix), 0)
            pid = kafka_cluster3.kill_node(down)
            run.note(f"kill -9 broker {down} (pid {pid}), leader of movements[0]")
            time.sleep(rng.uniform(2, 5))
            started = kafka_cluster3.start_node(down)
            run.note(f"broker {down} restarted in {started.elapsed_s:.1f}s")
            down = None
            catch_up.append(wait_in_sync(kafka, run_topics(run)))
            run.note(f"all replicas in sync {catch_up[-1]:.1f}s later")
        run.verify(workload, [pump])
        failed = pump.deliveries.failed
        if failed:
            row.problems.append(f"{len(failed)} deliveries failed, first: {failed[0]}")
        row.figure = f"ack latency max {max_latency(pump):.1f}s; ISR back max {max(catch_up):.1f}s"
    finally:
        if down is not None:
            kafka_cluster3.start_node(down)
        run.close()
    assert run.clean(), "\n".join(row.problems)
