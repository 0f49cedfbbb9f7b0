"""Customer facts: how orders and cases reach the customer context.

Orders are keyed by order id and cases by case id, so their processors cannot
write a customer's context directly. They publish a ``CustomerFact`` keyed by
the identifiers of the event that changed the order or case; the identity
resolver treats it like any customer event and routes it to the canonical
profile, where it becomes an order or case summary. A chat that only knows a
phone hash therefore lands in the right customer's context.

The fact's event id is derived from (fact, entity, version): reprocessing a
change after a crash publishes the same fact again, which the resolver and
the profile stage drop as a duplicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from schemas.catalogue import CUSTOMER_FACTS
from schemas.exceptions import CatalogueError
from streams.common.events import to_datetime, to_millis

if TYPE_CHECKING:
    import faust

    from streams.app import Runtime

RECORD = "omni.internal.CustomerFact"
NAMESPACE = uuid.UUID("5d0c3a52-1d8b-4a7c-9f43-3b7e2f6a9c11")


def fact_id(fact: str, entity_id: str, version: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{fact}:{entity_id}:{version}"))


def attributable(identifiers: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The identifiers to address, or None when the change names nobody."""
    present = {k: v for k, v in (identifiers or {}).items() if v}
    return present or None


def fact_record(
    fact: str,
    entity_id: str,
    version: int,
    identifiers: Mapping[str, Any],
    channel: str,
    at: int,
    state: Mapping[str, Any],
) -> dict[str, Any]:
    """The Avro ``CustomerFact`` for one change of one order or case."""
    return {
        "envelope": {
            "event_id": fact_id(fact, entity_id, version),
            "occurred_at": to_datetime(at),
            "channel": channel,
            "source": "omni-streams",
            "identifiers": dict(identifiers),
            "session_id": None,
            "correlation_id": None,
            "sequence": None,
        },
        "fact": fact,
        "entity_id": entity_id,
        "state": orjson.dumps(
            state, default=_millis, option=orjson.OPT_PASSTHROUGH_DATETIME
        ).decode(),
    }


def _millis(value: Any) -> int:
    """Datetimes travel as epoch milliseconds, what the context rules read back."""
    if isinstance(value, datetime):
        return to_millis(value)
    raise TypeError(f"cannot put a {type(value).__name__} in a fact")


class FactPublisher:
    """Sends facts to ``omni.customer.facts`` through the app's producer."""

    def __init__(self, app: faust.App, runtime: Runtime) -> None:
        self.runtime = runtime
        self.topic_name = CUSTOMER_FACTS.physical(runtime.settings.topics.prefix)
        self.topic = app.topic(self.topic_name, key_serializer="raw", value_serializer="raw")

    async def publish(self, record: dict[str, Any]) -> bool:
        """Send one fact; False (and counted) when no identifier can key it."""
        if CUSTOMER_FACTS.key is None:
            return False
        try:
            key = CUSTOMER_FACTS.key.key_of(record)
        except CatalogueError:
            self.runtime.metrics.events.labels(
                self.topic_name, record["fact"], "unattributed"
            ).inc()
            return False
        value = self.runtime.encoder.encode(self.topic_name, RECORD, record)
        await self.runtime.out.send(self.topic_name, key.encode(), value)
        return True

    async def tell(
        self,
        fact: str,
        entity: Any,
        entity_id: str,
        cause: Mapping[str, Any] | None,
        state: Mapping[str, Any],
        fallback: Mapping[str, Any] | None = None,
    ) -> bool:
        """Publish ``entity``'s change for whoever the causing envelope (or ``fallback``) names."""
        cause = cause or {}
        identifiers = attributable(cause.get("identifiers")) or attributable(fallback)
        if identifiers is None:
            return False
        channel = str(cause.get("channel") or "unknown")
        record = fact_record(
            fact, entity_id, entity.version, identifiers, channel, entity.updated_at, state
        )
        return await self.publish(record)
