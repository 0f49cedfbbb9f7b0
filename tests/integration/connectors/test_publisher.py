"""The framework's Publisher against the real broker and registry."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from connectors.core import Backpressure, InvalidEvent, Outgoing, Publisher, PublishError
from connectors.core.metrics import ConnectorMetrics
from schemas.catalogue import DEAD_LETTERS
from tests.integration.connectors.kafka_reader import read_events
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration

RECORD = "omni.cart.CartItemAdded"


def added(anon: str, quantity: Any = 1) -> Outgoing:
    envelope = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": 1_700_000_000_000,
        "channel": "web",
        "source": "publisher-test",
        "identifiers": {"anonymous_id": anon},
    }
    return Outgoing(RECORD, {"envelope": envelope, "sku": "SKU-1", "quantity": quantity})


def test_publish_many_returns_after_kafka_has_every_record(contract_env: ContractEnv) -> None:
    anon = f"anon-{uuid.uuid4().hex}"
    metrics = ConnectorMetrics("test")

    async def main() -> int:
        publisher = Publisher(contract_env.settings, client_id="t", metrics=metrics)
        await publisher.prepare([RECORD])
        await publisher.publish_many([added(anon) for _ in range(50)])
        assert publisher.in_flight == 0
        return await publisher.close()

    assert asyncio.run(main()) == 0
    landed = read_events(contract_env, lambda item: item.key == anon, expected=50, settle_s=0.5)
    assert len(landed) == 50
    assert {item.topic for item in landed} == {"omni.cart.events"}
    assert b'omni_connector_events_total{connector="test",record="CartItemAdded"} 50.0' in (
        metrics.render()
    )


def test_beyond_the_in_flight_bound_is_backpressure_and_nothing_is_sent(
    contract_env: ContractEnv,
) -> None:
    anon = f"anon-{uuid.uuid4().hex}"

    async def main() -> list[Any]:
        publisher = Publisher(contract_env.settings, client_id="t", max_in_flight=5)
        await publisher.prepare([RECORD])
        try:
            return await asyncio.gather(
                publisher.publish_many([added(anon) for _ in range(5)]),
                publisher.publish_many([added(anon)]),
                publisher.publish_many([added(anon) for _ in range(6)]),
                return_exceptions=True,
            )
        finally:
            await publisher.close()

    first, second, third = asyncio.run(main())
    assert first is None
    assert isinstance(second, Backpressure)
    assert isinstance(third, Backpressure)
    assert second.retry_after_s == 1
    assert len(read_events(contract_env, lambda item: item.key == anon, expected=5)) == 5


def test_a_value_that_does_not_fit_names_the_field_and_sends_nothing(
    contract_env: ContractEnv,
) -> None:
    anon = f"anon-{uuid.uuid4().hex}"

    async def main() -> None:
        publisher = Publisher(contract_env.settings, client_id="t")
        try:
            await publisher.publish_many([added(anon), added(anon, quantity="2")])
        finally:
            await publisher.close()

    with pytest.raises(InvalidEvent) as caught:
        asyncio.run(main())
    assert "record 1 (omni.cart.CartItemAdded): omni.cart.CartItemAdded.quantity" in str(
        caught.value
    )
    assert read_events(contract_env, lambda item: item.key == anon, expected=1, timeout_s=3) == []


def test_dead_letters_keep_the_bytes_with_context_headers(contract_env: ContractEnv) -> None:
    raw = f"not an event {uuid.uuid4().hex}".encode()

    async def main() -> None:
        publisher = Publisher(contract_env.settings, client_id="omni-test")
        await publisher.dead_letter(
            raw, key=b"k", reason="invalid_event", error=ValueError("bad"), origin="test /x"
        )
        await publisher.close()
        with pytest.raises(PublishError, match="shutting down"):
            await publisher.publish_many([added("a")])

    asyncio.run(main())
    [dead] = read_events(
        contract_env,
        lambda item: item.raw == raw,
        expected=1,
        topics=[DEAD_LETTERS.physical(contract_env.prefix)],
    )
    assert dead.headers == {
        "omni.error.type": b"ValueError",
        "omni.error.message": b"bad",
        "omni.error.reason": b"invalid_event",
        "omni.source.topic": b"test /x",
        "omni.source.partition": b"-1",
        "omni.source.offset": b"-1",
        "omni.processor": b"omni-test",
    }
