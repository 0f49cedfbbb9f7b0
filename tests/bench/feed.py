"""Pre-producing the workload: Avro (Confluent wire format), keyed by the catalogue, murmur2.

The events are encoded once and produced once per run; every system measured
in the run reads these same records from the same topics.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from confluent_kafka import Producer

from schemas.codec import FastEncoder
from tests.bench.env import BenchEnv
from tests.bench.workload import Shape, Workload


@dataclass(frozen=True)
class Fed:
    """What was produced: events per topic (physical names) and how long it took."""

    per_topic: dict[str, int]
    seconds: float

    @property
    def total(self) -> int:
        return sum(self.per_topic.values())

    @property
    def topics(self) -> list[str]:
        return sorted(self.per_topic)


def produce_workload(env: BenchEnv, count: int, shape: Shape) -> Fed:
    """Encode and produce ``count`` events of the mixed workload; wait for every ack."""
    encoder = FastEncoder(env.client, env.schema_set)
    producer = Producer(
        {
            **env.settings.kafka.as_producer_dict(linger_ms=50),
            "batch.size": 1 << 20,
            "compression.type": "none",
        }
    )
    per_topic: Counter[str] = Counter()
    started = time.monotonic()
    for n, event in enumerate(Workload(shape).events(count)):
        topic = f"{env.prefix}{event.topic}"
        value = encoder.encode(topic, event.record, event.value)
        while True:
            try:
                producer.produce(topic, key=event.key.encode(), value=value)
                break
            except BufferError:
                producer.poll(0.1)
        per_topic[topic] += 1
        if n % 5000 == 0:
            producer.poll(0)
    left = producer.flush(120)
    if left:
        raise RuntimeError(f"{left} workload records were not acknowledged")
    return Fed(dict(per_topic), time.monotonic() - started)
