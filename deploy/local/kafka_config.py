"""Pure description of a local KRaft cluster: node ports and ``server.properties``.

Kept free of I/O so the rendering for one and three nodes is unit-tested
without a JVM. Every node is a combined broker+controller and every node is
a voter: with three nodes the quorum survives the loss of any one of them,
which is what the fault-injection suite needs.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from pathlib import Path

from deploy.local.proc import LOOPBACK
from schemas.settings import LocalRuntimeSettings


@dataclass(frozen=True)
class NodeSpec:
    """One combined broker+controller node listening on loopback."""

    node_id: int
    broker_port: int
    controller_port: int

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.broker_port}"


def node_specs(local: LocalRuntimeSettings, nodes: int) -> list[NodeSpec]:
    """Single node on the well-known ports; larger clusters on pairs from ``cluster_base_port``.

    The two layouts never share a port, so the single broker the tests use
    and the three-node cluster can run side by side.
    """
    if nodes < 1:
        raise ValueError(f"a cluster needs at least one node, not {nodes}")
    if nodes == 1:
        return [NodeSpec(1, local.kafka_port, local.controller_port)]
    base = local.cluster_base_port
    return [NodeSpec(i + 1, base + 2 * i, base + 2 * i + 1) for i in range(nodes)]


def quorum_voters(specs: list[NodeSpec]) -> str:
    return ",".join(f"{s.node_id}@{LOOPBACK}:{s.controller_port}" for s in specs)


def bootstrap_servers(specs: list[NodeSpec]) -> str:
    return ",".join(s.address for s in specs)


def replication(nodes: int) -> tuple[int, int]:
    """(replication factor, min ISR): RF 3 / min ISR 2 once there are three nodes."""
    rf = min(nodes, 3)
    return rf, max(rf - 1, 1)


def server_properties(spec: NodeSpec, specs: list[NodeSpec], data_dir: Path) -> dict[str, str]:
    """The broker configuration of one node of the cluster ``specs``."""
    rf, min_isr = replication(len(specs))
    return {
        "process.roles": "broker,controller",
        "node.id": str(spec.node_id),
        "controller.quorum.voters": quorum_voters(specs),
        "listeners": (
            f"PLAINTEXT://{LOOPBACK}:{spec.broker_port},CONTROLLER://{LOOPBACK}:{spec.controller_port}"
        ),
        "advertised.listeners": f"PLAINTEXT://{spec.address}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "default.replication.factor": str(rf),
        "min.insync.replicas": str(min_isr),
        "unclean.leader.election.enable": "false",
        "offsets.topic.replication.factor": str(rf),
        "offsets.topic.num.partitions": "3",
        "transaction.state.log.replication.factor": str(rf),
        "transaction.state.log.min.isr": str(min_isr),
        "transaction.state.log.num.partitions": "3",
        "share.coordinator.state.topic.replication.factor": str(rf),
        "share.coordinator.state.topic.min.isr": str(min_isr),
        "group.initial.rebalance.delay.ms": "0",
        # A node restarted after SIGKILL cannot register until the controller
        # expires its previous session (default 9 s); shorter sessions make
        # fault-injection restarts and failure detection about twice as fast.
        "broker.heartbeat.interval.ms": "1000",
        "broker.session.timeout.ms": "4500",
    }


def render_properties(props: dict[str, str]) -> str:
    """Java properties text; our values never need escaping (ports, names, POSIX paths)."""
    lines = ["# written by deploy/local/kafka.py on every start; edits are overwritten"]
    lines += [f"{key}={value}" for key, value in props.items()]
    return "\n".join(lines) + "\n"


def new_cluster_id() -> str:
    """A KRaft cluster id, as ``kafka-storage random-uuid`` makes it.

    Generated here rather than by the tool to spare one JVM start: 16 random
    bytes in unpadded URL-safe base64, never starting with '-' (Kafka rejects
    ids that could be read as a command-line flag).
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text
