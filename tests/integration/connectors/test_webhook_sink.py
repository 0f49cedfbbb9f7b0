"""The webhook sink against a real broker and registry and a real HTTP receiver.

The receiver fails first attempts (5xx, and answers that come after the
sink's timeout), so each change is retried; it checks every signature, keeps
the first acceptance of each idempotency key, and watches that no two
requests of one key overlap and that a key's changes arrive in offset order.
A dead endpoint's changes end in the dead-letter topic with their bytes and
headers, while another endpoint of the same view still gets everything.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.sinks.metrics import WebhookMetrics
from connectors.sinks.webhook import WebhookSink
from schemas.catalogue import (
    CART_VIEW,
    DEAD_LETTERS,
    STOCK_LEVEL_VIEW,
    STOCK_TOTAL_VIEW,
    WEBHOOK_SINK,
)
from schemas.settings import (
    ConnectorsSettings,
    Settings,
    WebhookEndpointSettings,
    WebhookSinkSettings,
)
from tests.integration.connectors.kafka_reader import read_events
from tests.integration.connectors.sink_support import (
    Sent,
    ViewProducer,
    reset_group,
    run_until,
    view_value,
)
from tests.integration.connectors.webhook_receiver import TIMEOUT, Receiver
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration

SECRETS = {"tablets": b"tablet-secret", "dead": b"dead-secret", "ok": b"ok-secret"}
TIMEOUT_S = 0.3


def sink_settings(
    env: ContractEnv, receiver: Receiver, routes: dict[str, list[str]], **over: Any
) -> Settings:
    endpoints = [
        WebhookEndpointSettings(
            channel=channel,
            url=receiver.url(channel),
            secret=SecretStr(SECRETS[channel].decode()),
            views=views,
            timeout_s=TIMEOUT_S,
        )
        for channel, views in routes.items()
    ]
    fields: dict[str, Any] = {
        "group_id": f"webhook-{uuid.uuid4().hex}",
        "endpoints": endpoints,
        "max_attempts": 4,
        "backoff_initial_s": 0.02,
        "backoff_max_s": 0.2,
        "breaker_failure_threshold": 10_000,
        "max_parallel_keys": 16,
        "batch_max_records": 200,
        "poll_timeout_s": 0.2,
    }
    config = WebhookSinkSettings(**{**fields, **over})
    return env.settings.model_copy(update={"connectors": ConnectorsSettings(webhook_sink=config)})


def flaky(channel: str, document: dict[str, Any], attempt: int) -> int | str:
    """Every first attempt fails (a quarter by answering too late); half the second ones too."""
    offset = int(document["source"]["offset"])
    if attempt == 1:
        return TIMEOUT if offset % 4 == 0 else 500
    if attempt == 2 and offset % 2 == 0:
        return 502
    return 204


def produce_changes(env: ContractEnv) -> list[Sent]:
    producer = ViewProducer(env)
    for version in (1, 2, 3):
        for n in range(30):
            key = f"C-{n:03d}"
            producer.put(CART_VIEW, key, view_value(CART_VIEW, key, version, n * 10 + version))
        for n in range(20):
            key = f"SKU-{n:06d}@STORE-{n % 3:03d}"
            if version < 3:
                producer.put(STOCK_LEVEL_VIEW, key, view_value(STOCK_LEVEL_VIEW, key, version, n))
    for n in range(5):
        producer.put(CART_VIEW, f"C-{n:03d}", None)
    producer.flush()
    return producer.sent


def idempotency_key(sent: Sent) -> str:
    return f"{sent.topic}/{sent.partition}/{sent.offset}"


async def deliver_all(
    settings: Settings, receiver: Receiver, channel: str, count: int
) -> WebhookMetrics:
    sink = WebhookSink(settings)
    await run_until(sink, lambda: receiver.count(channel) >= count)
    return sink.metrics


def test_retries_signatures_idempotency_keys_and_per_key_order(contract_env: ContractEnv) -> None:
    sent = produce_changes(contract_env)
    receiver = Receiver(SECRETS, flaky).listen()
    settings = sink_settings(contract_env, receiver, {"tablets": ["carts", "stock-levels"]})

    async def scenario() -> WebhookMetrics:
        await receiver.start()
        try:
            return await deliver_all(settings, receiver, "tablets", len(sent))
        finally:
            await receiver.stop()

    metrics = asyncio.run(scenario())

    by_idempotency = {idempotency_key(s): s for s in sent}
    assert {key for _, key in receiver.accepted} == set(by_idempotency)
    for (_, key), document in receiver.accepted.items():
        source = by_idempotency[key]
        assert document["key"] == source.key
        if source.value is None:
            assert (document["op"], document["value"]) == ("delete", None)
        else:
            assert document["op"] == "upsert"
            assert document["value"]["version"] == source.value["version"]

    assert all(a.signed for a in receiver.attempts), "every request carries a valid signature"
    tries: dict[str, list[Any]] = defaultdict(list)
    for a in receiver.attempts:
        tries[a.idempotency_key].append(a)
    for key, attempts in tries.items():
        assert len({a.body for a in attempts}) == 1, f"{key}: the body changed between attempts"
        expected = 2 if by_idempotency[key].offset % 2 else 3
        assert [a.attempt for a in attempts] == list(range(1, expected + 1)), key
    assert any(a.answered == TIMEOUT for a in receiver.attempts)

    assert receiver.overlaps == [], "two requests of one key were in flight at once"
    offsets_by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for s in sent:
        offsets_by_key[(s.topic, s.key)].append(s.offset)
    for (_, view, key), accepted in receiver.order.items():
        topic = next(t for (t, k) in offsets_by_key if k == key and view in t)
        assert accepted == sorted(offsets_by_key[(topic, key)]), f"{key}: out of order"

    delivered = metrics.deliveries.labels(endpoint="tablets", outcome="delivered")._value.get()
    assert delivered == len(sent)
    retried = sum(
        s.value for m in metrics.retries.collect() for s in m.samples if s.name.endswith("_total")
    )
    assert retried == sum(len(a) - 1 for a in tries.values())

    # A redelivery (offsets reset, as after a crash before the commit) repeats the same keys.
    carts = CART_VIEW.physical(contract_env.prefix)
    reset_group(contract_env, settings.connectors.webhook_sink.group_id, [carts])
    again = Receiver(SECRETS, lambda *_: 204).listen(receiver.port)

    async def redelivery() -> None:
        await again.start()
        try:
            await deliver_all(settings, again, "tablets", sum(s.topic == carts for s in sent))
        finally:
            await again.stop()

    asyncio.run(redelivery())
    first_bodies = {a.idempotency_key: (a.body, a.signature) for a in receiver.attempts}
    assert again.attempts
    for attempt in again.attempts:
        assert (attempt.body, attempt.signature) == first_bodies[attempt.idempotency_key]


def dead_or_picky(channel: str, document: dict[str, Any], attempt: int) -> int | str:
    """``dead`` is down for good; ``ok`` is healthy but refuses two payloads (422)."""
    if channel == "dead":
        return 503
    return 422 if document["key"].endswith("-reject") else 204


def test_a_failing_endpoint_dead_letters_and_the_stream_goes_on(
    contract_env: ContractEnv,
) -> None:
    producer = ViewProducer(contract_env)
    keys = [f"SKU-{n:06d}" for n in range(18)] + ["SKU-1-reject", "SKU-2-reject"]
    for n, key in enumerate(keys):
        producer.put(STOCK_TOTAL_VIEW, key, view_value(STOCK_TOTAL_VIEW, key, 1, n))
    producer.flush()
    sent = {idempotency_key(s): s for s in producer.sent}
    receiver = Receiver(SECRETS, dead_or_picky).listen()
    routes = {"dead": ["stock-totals"], "ok": ["omni.view.stock-totals"]}
    settings = sink_settings(
        contract_env,
        receiver,
        routes,
        max_attempts=3,
        breaker_failure_threshold=3,
        breaker_reset_s=0.5,
    )
    topic = STOCK_TOTAL_VIEW.physical(contract_env.prefix)
    expected_letters = len(sent) + 2  # every change for dead, the two refused ones for ok

    async def scenario() -> WebhookMetrics:
        await receiver.start()
        sink = WebhookSink(settings)
        dead_letters = sink.metrics.records.labels(
            sink="webhook", view=STOCK_TOTAL_VIEW.name, outcome="dead_letter"
        )
        try:
            await run_until(sink, lambda: dead_letters._value.get() >= expected_letters)
        finally:
            await receiver.stop()
        return sink.metrics

    metrics = asyncio.run(scenario())
    assert receiver.count("ok") == len(sent) - 2, "the healthy endpoint got every other change"

    letters = read_events(
        contract_env,
        lambda landed: (
            landed.headers.get("omni.processor") == WEBHOOK_SINK.encode()
            and landed.headers.get("omni.source.topic") == topic.encode()
        ),
        expected=expected_letters,
        topics=[DEAD_LETTERS.physical(contract_env.prefix)],
    )
    assert len(letters) == expected_letters
    by_endpoint: dict[bytes, list[str]] = defaultdict(list)
    for letter in letters:
        headers = letter.headers
        where = f"{int(headers['omni.source.partition'])}/{int(headers['omni.source.offset'])}"
        source = sent[f"{topic}/{where}"]
        assert letter.raw == source.raw, "the dead letter carries the original bytes"
        assert headers["omni.error.message"]
        assert headers["omni.error.type"]
        reason = headers["omni.error.reason"].decode()
        by_endpoint[headers["omni.sink.endpoint"]].append(source.key)
        if headers["omni.sink.endpoint"] == b"ok":
            assert (reason, source.key.endswith("-reject")) == ("rejected", True)
        else:
            assert reason in {"endpoint_unavailable", "breaker_open"}
    assert sorted(by_endpoint[b"dead"]) == sorted(s.key for s in sent.values())

    calls = sum(1 for a in receiver.attempts if a.channel == "dead")
    assert calls < len(sent) * 3, "the open breaker spared the dead endpoint some calls"
    assert metrics.deliveries.labels(endpoint="ok", outcome="rejected")._value.get() == 2
    assert metrics.deliveries.labels(endpoint="dead", outcome="exhausted")._value.get() == len(sent)
