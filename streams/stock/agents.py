"""Stock agents: fold movements into ``stock_by_sku`` and emit the stock views.

Thin by design: decode, call :mod:`streams.stock.rules`, write each touched SKU
once per batch, emit each changed level and total once per batch. Anything
that cannot be decoded or is invalid goes to the dead-letter topic and the
batch goes on.

Reservation answers (the orders saga, see :mod:`streams.orders.agents`): a
``reserved`` movement that carries a ``reference`` (an order id) is answered
on ``omni.inventory.reservations``, keyed by that reference, with
``ReservationConfirmed`` or ``ReservationRejected``. The answer's id is
derived from the movement's, so it is the same on every replay. A crash
after the table write but before the answer would lose the answer (the
replayed movement is a duplicate), so a duplicate reservation is answered
again; to know how, a refusal records a marker id next to the movement's in
the SKU's seen ids.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from schemas.catalogue import (
    STOCK_LEVEL_VIEW,
    STOCK_MOVEMENTS,
    STOCK_RESERVATIONS,
    STOCK_TOTAL_VIEW,
)
from schemas.exceptions import DecodeError
from streams.common import idempotency
from streams.common.events import event_id_text, to_millis
from streams.common.outcome import Rejected
from streams.processor import BatchProcessor
from streams.stock import model, rules, tables, views

if TYPE_CHECKING:
    import faust

    from streams.app import Runtime
    from streams.transport.batch import RawRecord as Record

INVALID = frozenset(
    {"bad_quantity", "unknown_kind", "bad_transfer", "blank_sku", "blank_location_id"}
)
RECORD = "omni.inventory.StockMovement"
CONFIRMED = "omni.inventory.ReservationConfirmed"
REFUSED = "omni.inventory.ReservationRejected"
REPLY_NAMESPACE = uuid.UUID("0b7e4f8a-3c21-4d59-8e6f-51a2c9d4b7e3")


def refused_marker(event_id: str) -> str:
    """The seen id that records that the reservation ``event_id`` was refused."""
    return f"{event_id}:refused"


def reply(event: dict[str, Any], available: int | None) -> tuple[str, dict[str, Any]]:
    """The answer to a referenced ``reserved`` movement: confirmed, or refused if ``available``."""
    envelope = event["envelope"]
    movement_id = event_id_text(envelope["event_id"])
    value: dict[str, Any] = {
        "envelope": {
            **envelope,
            "event_id": str(uuid.uuid5(REPLY_NAMESPACE, movement_id)),
            "source": "streams.stock",
            "sequence": None,
            "correlation_id": event["reference"],
        },
        "order_id": event["reference"],
        "line_id": None,
        "sku": event["sku"],
        "location_id": event["location_id"],
        "quantity": event["quantity"],
        "movement_id": movement_id,
    }
    if available is None:
        return CONFIRMED, value
    return REFUSED, {**value, "available": available, "reason": "insufficient_stock"}


@dataclass
class Batch:
    """One partition's worth of a batch: the SKUs it touched and what changed."""

    states: dict[str, tables.SkuState] = field(default_factory=dict)
    changed: dict[str, set[str]] = field(default_factory=dict)
    latest_at: dict[str, int] = field(default_factory=dict)
    replies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class StockProcessor(BatchProcessor):
    """Applies batches of movements; one instance per app."""

    def __init__(self, app: faust.App, runtime: Runtime) -> None:
        self.runtime = runtime
        partitions = runtime.settings.topics.partitions_override or STOCK_MOVEMENTS.partitions
        self.source = self.source_topic(
            app, STOCK_MOVEMENTS.physical(runtime.settings.topics.prefix), partitions=partitions
        )
        self.table = tables.stock_table(app, runtime, partitions)
        self.levels_topic = runtime.topic_name(STOCK_LEVEL_VIEW.name)
        self.totals_topic = runtime.topic_name(STOCK_TOTAL_VIEW.name)
        self.producer_topic_levels = app.topic(
            self.levels_topic, key_serializer="raw", value_serializer="raw"
        )
        self.producer_topic_totals = app.topic(
            self.totals_topic, key_serializer="raw", value_serializer="raw"
        )
        self.replies_topic = runtime.topic_name(STOCK_RESERVATIONS.name)
        self.producer_topic_replies = app.topic(
            self.replies_topic, key_serializer="raw", value_serializer="raw"
        )

    async def apply_partition(self, records: Sequence[Record]) -> Callable[[], None]:
        batch = Batch()
        for record in records:
            await self.apply_one(record, batch)
        await self.emit(batch)
        return partial(self.store, batch)

    def store(self, batch: Batch) -> None:
        """Write each touched key once; called after the batch's emissions were flushed."""
        for sku, state in batch.states.items():
            self.write(sku.encode(), tables.encode(state))

    async def apply_one(self, record: Record, batch: Batch) -> None:
        metrics = self.runtime.metrics
        try:
            decoded = self.runtime.decoder.decode(record.value)
        except DecodeError as exc:
            await self.dead_letter(record, exc.reason, exc)
            return
        if decoded.record != RECORD:
            await self.dead_letter(
                record, "unexpected_record", f"{decoded.record} on {record.topic}"
            )
            return
        event = decoded.value
        sku = event["sku"]
        state = batch.states.get(sku) or self.load(sku)
        verdict, seen = idempotency.admit(state.seen, event["envelope"])
        answers = event["kind"] == "reserved" and bool(event.get("reference"))
        marker = refused_marker(event_id_text(event["envelope"]["event_id"]))
        if verdict is idempotency.Verdict.DUPLICATE:
            if answers:  # answer again: the first answer may have died with a crashed worker
                refused = marker in state.seen.ids
                level = state.stock.level(event["location_id"])
                batch.replies.append(reply(event, level.available if refused else None))
            metrics.events.labels(record.topic, "StockMovement", "duplicate").inc()
            return
        outcome = rules.apply(state.stock, decoded.record, event)
        if isinstance(outcome, Rejected):
            if outcome.reason in INVALID:
                await self.dead_letter(record, f"invalid:{outcome.reason}", outcome.detail)
                return
            if answers:
                level = state.stock.level(event["location_id"])
                batch.replies.append(reply(event, level.available))
                seen = idempotency.record(seen, marker, "", None)
            batch.states[sku] = tables.SkuState(state.stock, seen)
            metrics.events.labels(record.topic, "StockMovement", "rejected").inc()
            return
        if answers:
            batch.replies.append(reply(event, None))
        batch.states[sku] = tables.SkuState(outcome.state, seen)
        batch.changed.setdefault(sku, set()).update(outcome.changed)
        at = to_millis(event["envelope"]["occurred_at"])
        batch.latest_at[sku] = max(batch.latest_at.get(sku, 0), at)
        metrics.events.labels(record.topic, "StockMovement", verdict.value).inc()

    def load(self, sku: str) -> tables.SkuState:
        data = self.table.get(sku.encode())
        return tables.decode(data) if data is not None else tables.empty(sku)

    async def emit(self, batch: Batch) -> None:
        encoder, out = self.runtime.encoder, self.runtime.out
        for name, answer in batch.replies:
            data = encoder.encode(self.replies_topic, name, answer)
            await out.send(self.replies_topic, answer["order_id"].encode(), data)
        for sku, locations in batch.changed.items():
            stock = batch.states[sku].stock
            for location in sorted(locations):
                level = stock.level(location)
                value = encoder.encode(
                    self.levels_topic, "omni.view.StockLevel", model.to_view(level)
                )
                await out.send(self.levels_topic, f"{sku}@{location}".encode(), value)
            total = model.total(stock.levels.values(), sku)
            value = encoder.encode(self.totals_topic, "omni.view.StockTotal", total)
            await out.send(self.totals_topic, sku.encode(), value)
            self.runtime.metrics.views.labels("stock-levels").inc(len(locations))
            self.runtime.metrics.views.labels("stock-totals").inc()
            lag_s = max(time.time() - batch.latest_at[sku] / 1000, 0.0)
            self.runtime.metrics.latency.labels("stock-levels").observe(lag_s)


def install(app: faust.App, runtime: Runtime) -> None:
    """Declare the stock table, agent and HTTP views on ``app``."""
    processor = StockProcessor(app, runtime)
    app.agent(processor.source, name="stock-movements")(processor.run)
    views.install(app, processor)
