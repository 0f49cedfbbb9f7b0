"""The retry loop of one delivery, over a scripted transport (the HTTP client has its own test)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Mapping

import pytest
from pydantic import SecretStr

from connectors.sinks.backoff import Backoff
from connectors.sinks.breaker import BreakerState
from connectors.sinks.delivery import Deliverer, Delivery, Outcome, make_endpoint
from connectors.sinks.exceptions import BreakerOpen, DeliveryRejected, DeliveryRetryable
from connectors.sinks.http_client import AiohttpTransport
from connectors.sinks.metrics import WebhookMetrics
from schemas.settings import WebhookEndpointSettings, WebhookSinkSettings

# (headers of the request) -> (status, error text); may raise DeliveryRetryable.
Script = Callable[[Mapping[str, str]], tuple[int, str]]


class ScriptedTransport:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[Mapping[str, str]] = []

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> tuple[int, str]:
        self.requests.append(headers)
        return self.script(headers)


def deliver(
    script: Script,
    attempts: int = 4,
    threshold: int = 10,
    stopping: asyncio.Event | None = None,
    times: int = 1,
) -> tuple[list[Delivery], WebhookMetrics, ScriptedTransport]:
    metrics = WebhookMetrics()
    transport = ScriptedTransport(script)

    async def go() -> list[Delivery]:
        settings = WebhookEndpointSettings(
            channel="tablets", url="http://receiver/hook", secret=SecretStr("s"), views=["carts"]
        )
        sink = WebhookSinkSettings(breaker_failure_threshold=threshold, breaker_reset_s=60)
        endpoint = make_endpoint(settings, frozenset({"omni.view.carts"}), sink, metrics)
        backoff = Backoff(0.001, 2, 0.002, 0)
        deliverer = Deliverer(transport, backoff, attempts, metrics, stopping or asyncio.Event())
        return [await deliverer.deliver(endpoint, b"{}", {"X": "1"}) for _ in range(times)]

    return asyncio.run(go()), metrics, transport


def failing_then_ok(failures: int, status: int = 503) -> Script:
    calls = {"n": 0}

    def script(headers: Mapping[str, str]) -> tuple[int, str]:
        calls["n"] += 1
        return (status, "busy") if calls["n"] <= failures else (204, "")

    return script


def test_retries_until_the_endpoint_answers() -> None:
    [result], metrics, transport = deliver(failing_then_ok(2))
    assert (result.outcome, result.attempts) == (Outcome.DELIVERED, 3)
    assert [h["X-Omni-Attempt"] for h in transport.requests] == ["1", "2", "3"]
    assert all(h["X"] == "1" for h in transport.requests)
    retries = metrics.retries.labels(endpoint="tablets", reason="endpoint_unavailable")
    assert retries._value.get() == 2


@pytest.mark.parametrize("status", [408, 429, 500, 502])
def test_these_statuses_are_retried(status: int) -> None:
    [result], _, _ = deliver(failing_then_ok(1, status))
    assert result.outcome is Outcome.DELIVERED


@pytest.mark.parametrize("status", [301, 400, 401, 404, 422])
def test_other_answers_are_rejected_at_once(status: int) -> None:
    [result], _, transport = deliver(lambda _: (status, "bad field sku"))
    assert result.outcome is Outcome.REJECTED
    assert isinstance(result.error, DeliveryRejected)
    assert f"{status}: bad field sku" in str(result.error)
    assert len(transport.requests) == 1


def test_transport_failures_exhaust_the_attempts() -> None:
    def refuse(headers: Mapping[str, str]) -> tuple[int, str]:
        raise DeliveryRetryable("ClientConnectorError: refused")

    [result], _, transport = deliver(refuse, attempts=3)
    assert (result.outcome, result.attempts, len(transport.requests)) == (Outcome.EXHAUSTED, 3, 3)
    assert "refused" in str(result.error)


def test_an_open_breaker_spares_the_endpoint() -> None:
    results, metrics, transport = deliver(lambda _: (500, ""), attempts=2, threshold=3, times=3)
    assert [r.outcome for r in results] == [Outcome.EXHAUSTED] * 3
    assert len(transport.requests) == 3  # the breaker opened after 3 failures
    assert isinstance(results[-1].error, BreakerOpen)
    assert metrics.breaker_state.labels(endpoint="tablets")._value.get() == BreakerState.OPEN


def test_stopping_abandons_a_delivery_waiting_to_retry() -> None:
    stopping = asyncio.Event()

    def fail_and_stop(headers: Mapping[str, str]) -> tuple[int, str]:
        stopping.set()
        return 503, ""

    [result], _, transport = deliver(fail_and_stop, stopping=stopping)
    assert (result.outcome, len(transport.requests)) == (Outcome.ABANDONED, 1)


def test_the_http_client_turns_a_refused_connection_into_a_retryable_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"

        async def go() -> None:
            transport = AiohttpTransport()
            try:
                await transport.post(url, b"{}", {}, 2.0)
            finally:
                await transport.close()

        with pytest.raises(DeliveryRetryable, match="ClientConnectorError"):
            asyncio.run(go())
