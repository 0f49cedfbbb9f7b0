"""Broker-side facts a broker fault needs: who leads a partition, when replicas caught up."""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import KafkaException, TopicCollection

from schemas import admin as topic_admin
from schemas.settings import KafkaSettings


class BrokerStateError(Exception):
    """The cluster did not reach the state a fault step waits for."""


def leader_of(kafka: KafkaSettings, topic: str, partition: int = 0) -> int:
    """The broker id leading ``topic[partition]`` now."""
    admin = topic_admin.make_admin(kafka)
    future = admin.describe_topics(TopicCollection([topic]))[topic]
    try:
        description = future.result(timeout=30)
    except KafkaException as exc:
        raise BrokerStateError(f"cannot describe {topic}: {exc}") from exc
    for info in description.partitions:
        if info.id == partition and info.leader is not None:
            return int(info.leader.id)
    raise BrokerStateError(f"{topic}[{partition}] has no leader")


def under_replicated(kafka: KafkaSettings, topics: Iterable[str], replicas: int) -> list[str]:
    """Partitions of ``topics`` whose in-sync replicas are fewer than ``replicas``."""
    admin = topic_admin.make_admin(kafka)
    names = list(topics)
    out = []
    for name, future in admin.describe_topics(TopicCollection(names)).items():
        try:
            description = future.result(timeout=30)
        except KafkaException as exc:
            out.append(f"{name}: {exc}")
            continue
        out += [f"{name}[{p.id}]" for p in description.partitions if len(p.isr) < replicas]
    return out


def wait_in_sync(
    kafka: KafkaSettings, topics: Iterable[str], replicas: int = 3, timeout_s: float = 120.0
) -> float:
    """Seconds until every partition of ``topics`` has ``replicas`` in-sync replicas."""
    names = list(topics)
    started = time.monotonic()
    lagging = under_replicated(kafka, names, replicas)
    while lagging:
        if time.monotonic() - started > timeout_s:
            raise BrokerStateError(f"still under-replicated after {timeout_s}s: {lagging[:10]}")
        time.sleep(0.5)
        lagging = under_replicated(kafka, names, replicas)
    return time.monotonic() - started
