"""Our producers must place keys exactly where Faust's client (aiokafka) expects them."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import NewTopic

from schemas import admin as topic_admin
from schemas.settings import KafkaSettings
from tests.integration.support import consume_all

pytestmark = pytest.mark.integration

PARTITIONS = 6


def test_keys_land_on_the_murmur2_partition(kafka_bootstrap: str) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    admin = topic_admin.make_admin(settings)
    topic = f"t{uuid.uuid4().hex[:10]}.partitioning"
    for future in admin.create_topics([NewTopic(topic, PARTITIONS, 1)]).values():
        future.result(timeout=30)
    keys = [f"customer-{n}" for n in range(60)]
    producer = Producer(settings.as_producer_dict())
    for key in keys:
        producer.produce(topic, value=b"x", key=key)
    assert producer.flush(30) == 0

    consumer = Consumer(
        {
            **settings.as_librdkafka_dict(),
            "group.id": f"test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    placed = {m.key().decode(): m.partition() for m in consume_all(consumer, len(keys))}  # type: ignore[attr-defined]
    partitioner = DefaultPartitioner()
    everywhere = list(range(PARTITIONS))
    expected = {k: partitioner(k.encode(), everywhere, everywhere) for k in keys}
    assert placed == expected
    assert len(set(placed.values())) > 1
    admin.delete_topics([topic])
