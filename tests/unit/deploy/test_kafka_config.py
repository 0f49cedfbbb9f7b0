"""server.properties for one and three nodes, rendered without a JVM."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from deploy.local.kafka_config import (
    bootstrap_servers,
    new_cluster_id,
    node_specs,
    quorum_voters,
    render_properties,
    server_properties,
)
from schemas.settings import LocalRuntimeSettings


@pytest.fixture
def local(tmp_path: Path) -> LocalRuntimeSettings:
    return LocalRuntimeSettings(home=tmp_path, kafka_port=9092, controller_port=9093)


def test_single_node_uses_the_default_ports(local: LocalRuntimeSettings) -> None:
    (spec,) = node_specs(local, 1)
    assert (spec.node_id, spec.broker_port, spec.controller_port) == (1, 9092, 9093)
    assert bootstrap_servers([spec]) == "127.0.0.1:9092"


def test_three_nodes_take_port_pairs_from_the_cluster_base(local: LocalRuntimeSettings) -> None:
    specs = node_specs(local, 3)
    assert [(s.node_id, s.broker_port, s.controller_port) for s in specs] == [
        (1, 19092, 19093),
        (2, 19094, 19095),
        (3, 19096, 19097),
    ]
    assert quorum_voters(specs) == "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"


def test_single_and_cluster_layouts_never_share_a_port(local: LocalRuntimeSettings) -> None:
    def ports(nodes: int) -> set[int]:
        return {p for s in node_specs(local, nodes) for p in (s.broker_port, s.controller_port)}

    assert not ports(1) & ports(3)


def test_zero_nodes_is_refused(local: LocalRuntimeSettings) -> None:
    with pytest.raises(ValueError, match="at least one node"):
        node_specs(local, 0)


def test_single_node_properties(local: LocalRuntimeSettings, tmp_path: Path) -> None:
    specs = node_specs(local, 1)
    props = server_properties(specs[0], specs, tmp_path / "data")
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert props["log.dirs"] == str(tmp_path / "data")
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr",
        "min.insync.replicas",
    ):
        assert props[key] == "1", key
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_three_node_properties_replicate_everything_three_times(
    local: LocalRuntimeSettings, tmp_path: Path
) -> None:
    specs = node_specs(local, 3)
    props = server_properties(specs[1], specs, tmp_path)
    assert props["node.id"] == "2"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095"
    assert props["controller.quorum.voters"].count("@") == 3
    assert props["default.replication.factor"] == "3"
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["transaction.state.log.replication.factor"] == "3"
    assert props["share.coordinator.state.topic.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["transaction.state.log.min.isr"] == "2"
    assert props["share.coordinator.state.topic.min.isr"] == "2"
    assert props["unclean.leader.election.enable"] == "false"


def test_rendered_properties_are_one_key_per_line() -> None:
    text = render_properties({"a.b": "1", "c": "x,y"})
    lines = text.splitlines()
    assert lines[0].startswith("#")
    assert lines[1:] == ["a.b=1", "c=x,y"]
    assert text.endswith("\n")


def test_cluster_ids_look_like_kafka_storage_random_uuid() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cluster_id in ids:
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
