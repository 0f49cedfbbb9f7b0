"""Reading what the collector published, decoded with the real registry."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Message

from schemas.catalogue import ALL_TOPICS, COLLECTOR, DEAD_LETTERS
from schemas.codec import FastDecoder
from tests.integration.support import ContractEnv


@dataclass(frozen=True)
class Landed:
    """One record as Kafka holds it: topic (without prefix), key, record name and value."""

    topic: str
    key: str | None
    record: str
    value: dict[str, Any]
    headers: dict[str, bytes]
    raw: bytes


def collector_topics(env: ContractEnv) -> list[str]:
    return [t.physical(env.prefix) for t in ALL_TOPICS if COLLECTOR in t.publishers]


def read_events(
    env: ContractEnv,
    match: Callable[[Landed], bool],
    expected: int,
    timeout_s: float = 30.0,
    topics: list[str] | None = None,
    settle_s: float = 1.0,
) -> list[Landed]:
    """Matching records from the start of ``topics``; waits ``settle_s`` more for extras."""
    decoder = FastDecoder(env.client, env.schema_set)
    consumer = env.consumer(*(topics or collector_topics(env)))
    found: list[Landed] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            landed = _landed(env, decoder, message)
            if match(landed):
                found.append(landed)
                if len(found) == expected:
                    deadline = min(deadline, time.monotonic() + settle_s)
    finally:
        consumer.close()
    return found


def _landed(env: ContractEnv, decoder: FastDecoder, message: Message) -> Landed:
    topic = str(message.topic())[len(env.prefix) :]
    raw = bytes(message.value() or b"")
    key = message.key()
    headers = {k: bytes(v or b"") for k, v in (message.headers() or [])}
    if topic == DEAD_LETTERS.name:
        return Landed(topic, None, "", {}, headers, raw)
    decoded = decoder.decode(raw)
    return Landed(topic, key.decode() if key else None, decoded.record, decoded.value, headers, raw)
