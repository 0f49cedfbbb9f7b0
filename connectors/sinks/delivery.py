"""Handing one change to one endpoint: signed POST, retries with backoff, circuit breaker.

A delivery ends in one of four ways: ``delivered`` (2xx), ``rejected`` (a
4xx other than 408/429: the receiver refuses the payload, so retrying is
pointless), ``exhausted`` (every attempt failed with a retryable error), or
``abandoned`` (the sink is stopping; the record stays uncommitted and comes
again after the restart, with the same idempotency key). The caller
dead-letters rejected and exhausted ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from connectors.sinks.backoff import Backoff
from connectors.sinks.breaker import BreakerState, CircuitBreaker
from connectors.sinks.exceptions import DeliveryError, DeliveryRejected, DeliveryRetryable
from connectors.sinks.metrics import WebhookMetrics
from connectors.sinks.signing import ATTEMPT_HEADER
from schemas.settings import WebhookEndpointSettings, WebhookSinkSettings


class Transport(Protocol):
    """Sends one POST: the status and an error body's start, or ``DeliveryRetryable``."""

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> tuple[int, str]: ...


class Outcome(StrEnum):
    DELIVERED = "delivered"
    REJECTED = "rejected"
    EXHAUSTED = "exhausted"
    ABANDONED = "abandoned"


@dataclass(frozen=True, slots=True)
class Delivery:
    outcome: Outcome
    attempts: int
    seconds: float
    error: DeliveryError | None = None


@dataclass
class Endpoint:
    """An endpoint at run time: its settings, its views and its own breaker."""

    settings: WebhookEndpointSettings
    views: frozenset[str]
    breaker: CircuitBreaker
    secret: bytes = field(repr=False)

    @property
    def channel(self) -> str:
        return self.settings.channel


def make_endpoint(
    settings: WebhookEndpointSettings,
    views: frozenset[str],
    sink: WebhookSinkSettings,
    metrics: WebhookMetrics,
) -> Endpoint:
    gauge = metrics.breaker_state.labels(endpoint=settings.channel)
    gauge.set(BreakerState.CLOSED)
    breaker = CircuitBreaker(
        sink.breaker_failure_threshold,
        sink.breaker_reset_s,
        on_change=lambda state: gauge.set(state),
    )
    secret = settings.secret.get_secret_value().encode()
    return Endpoint(settings, views, breaker, secret)


class Deliverer:
    """Runs the attempts of one delivery; shared by every endpoint and key."""

    def __init__(
        self,
        transport: Transport,
        backoff: Backoff,
        max_attempts: int,
        metrics: WebhookMetrics,
        stopping: asyncio.Event,
    ) -> None:
        self._transport = transport
        self._backoff = backoff
        self._max_attempts = max_attempts
        self._metrics = metrics
        self._stopping = stopping

    async def deliver(self, endpoint: Endpoint, body: bytes, headers: dict[str, str]) -> Delivery:
        started = time.monotonic()
        error: DeliveryError | None = None
        for attempt in range(1, self._max_attempts + 1):
            try:
                await self._attempt(endpoint, body, {**headers, ATTEMPT_HEADER: str(attempt)})
            except DeliveryRejected as exc:
                return Delivery(Outcome.REJECTED, attempt, time.monotonic() - started, exc)
            except DeliveryRetryable as exc:
                error = exc
            else:
                return Delivery(Outcome.DELIVERED, attempt, time.monotonic() - started)
            if attempt == self._max_attempts:
                break
            self._metrics.retries.labels(endpoint=endpoint.channel, reason=error.reason).inc()
            if await self._stopped_during(self._backoff.delay(attempt)):
                return Delivery(Outcome.ABANDONED, attempt, time.monotonic() - started, error)
        return Delivery(Outcome.EXHAUSTED, self._max_attempts, time.monotonic() - started, error)

    async def _stopped_during(self, delay_s: float) -> bool:
        """Sleep ``delay_s`` unless the sink stops first; True if it did."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=delay_s)
        return self._stopping.is_set()

    async def _attempt(self, endpoint: Endpoint, body: bytes, headers: dict[str, str]) -> None:
        """One POST; raises a ``DeliveryError`` unless it was answered with a 2xx."""
        breaker = endpoint.breaker
        breaker.before_call()
        settings = endpoint.settings
        try:
            status, text = await self._transport.post(
                settings.url, body, headers, settings.timeout_s
            )
        except DeliveryRetryable:
            breaker.record_failure()
            raise
        _judge(status, text, breaker)


def _judge(status: int, text: str, breaker: CircuitBreaker) -> None:
    """2xx delivered; 408, 429 and 5xx retryable; any other answer a rejection (no retry)."""
    if 200 <= status < 300:
        breaker.record_success()
        return
    detail = f"HTTP {status}: {text}"
    if status in (408, 429) or status >= 500:
        breaker.record_failure()
        raise DeliveryRetryable(detail)
    breaker.record_success()  # it answered: up, just unwilling
    raise DeliveryRejected(detail)
