"""Helpers for integration tests: a private slice of the cluster per test module."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient

from schemas import admin as topic_admin
from schemas.avro import SchemaSet
from schemas.settings import KafkaSettings, RegistrySettings, Settings, TopicSettings


@dataclass
class ContractEnv:
    """Settings and clients pointed at this module's own topics and subjects."""

    settings: Settings
    client: SchemaRegistryClient
    schema_set: SchemaSet

    @property
    def prefix(self) -> str:
        return self.settings.topics.prefix

    def producer(self) -> Producer:
        return Producer(self.settings.kafka.as_producer_dict())

    def consumer(self, *topics: str) -> Consumer:
        conf = self.settings.kafka.as_librdkafka_dict()
        consumer = Consumer(
            {
                **conf,
                "group.id": f"test-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        consumer.subscribe(list(topics))
        return consumer


def isolated_settings(bootstrap: str, registry_url: str, prefix: str) -> Settings:
    return Settings(
        kafka=KafkaSettings(bootstrap_servers=bootstrap),
        registry=RegistrySettings(url=registry_url),
        topics=TopicSettings(prefix=prefix, partitions_override=2),
    )


def drop_prefix(settings: Settings, client: SchemaRegistryClient, subjects: list[str]) -> None:
    """Leave a reused broker and registry as they were found."""
    admin = topic_admin.make_admin(settings.kafka)
    names = [n for n in topic_admin.existing_topics(admin) if n.startswith(settings.topics.prefix)]
    for future in admin.delete_topics(names, operation_timeout=30).values():
        future.result(timeout=30)
    for subject in subjects:
        client.delete_subject(subject)


def consume_all(consumer: Consumer, expected: int, timeout_s: float = 30.0) -> list[object]:
    """Poll until ``expected`` records arrived or the time is up; returns what came."""
    import time

    messages = []
    deadline = time.monotonic() + timeout_s
    while len(messages) < expected and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        assert message.error() is None, message.error()
        messages.append(message)
    consumer.close()
    return messages
