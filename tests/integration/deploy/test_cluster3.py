"""Three combined broker+controller nodes: RF 3, min ISR 2, acks=all round trip."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

from deploy.local import KafkaCluster

pytestmark = [pytest.mark.integration, pytest.mark.cluster]


@pytest.fixture
def cluster_admin(kafka_cluster3: KafkaCluster) -> AdminClient:
    return AdminClient({"bootstrap.servers": kafka_cluster3.bootstrap_servers})


def test_three_brokers_answer(kafka_cluster3: KafkaCluster, cluster_admin: AdminClient) -> None:
    assert sorted(cluster_admin.list_topics(timeout=10).brokers) == [1, 2, 3]
    assert sorted(kafka_cluster3.node_pids()) == [1, 2, 3]


def test_topic_is_fully_replicated_and_round_trips(
    kafka_cluster3: KafkaCluster,
    cluster_admin: AdminClient,
    new_topic_name: Callable[..., str],
    new_group_id: Callable[..., str],
) -> None:
    topic = new_topic_name()
    new = NewTopic(topic, 3, 3, config={"min.insync.replicas": "2"})
    cluster_admin.create_topics([new])[topic].result(timeout=30)

    partitions = _describe_when_known(cluster_admin, topic)
    assert len(partitions) == 3
    for partition in partitions:
        assert len(partition.replicas) == 3
        assert len(partition.isr) == 3

    bootstrap = kafka_cluster3.bootstrap_servers
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    failures: list[KafkaError] = []
    for i in range(30):
        producer.produce(
            topic,
            key=str(i).encode(),
            value=f"v{i}".encode(),
            on_delivery=lambda err, _msg: failures.append(err) if err else None,
        )
    assert producer.flush(30) == 0
    assert failures == []

    assert _consume(bootstrap, topic, new_group_id(), expected=30) == {f"v{i}" for i in range(30)}


def _describe_when_known(admin: AdminClient, topic: str, timeout_s: float = 30.0) -> list[Any]:
    """Partitions of a just-created topic, once every broker has its metadata.

    ``create_topics`` completes when the controller commits the topic; a
    broker that has not applied that record yet answers UNKNOWN_TOPIC_OR_PART.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        future = admin.describe_topics(TopicCollection([topic]))[topic]
        try:
            partitions: list[Any] = future.result(timeout=10).partitions
            return partitions
        except KafkaException as exc:
            if (
                exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART
                or time.monotonic() > deadline
            ):
                raise
        time.sleep(0.2)


def _consume(bootstrap: str, topic: str, group: str, expected: int) -> set[str]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
    )
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(3)])
    seen: set[str] = set()
    deadline = time.monotonic() + 30
    try:
        while len(seen) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            seen.add(bytes(message.value() or b"").decode())
    finally:
        consumer.close()
    return seen
