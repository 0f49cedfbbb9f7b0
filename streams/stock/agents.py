"""Stock agents: fold movements into ``stock_by_sku`` and emit the stock views.

Thin by design: decode, call :mod:`streams.stock.rules`, write each touched SKU
once per batch, emit each changed level and total once per batch. Anything
that cannot be decoded or is invalid goes to the dead-letter topic and the
batch goes on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from schemas.catalogue import STOCK_LEVEL_VIEW, STOCK_MOVEMENTS, STOCK_TOTAL_VIEW
from schemas.exceptions import DecodeError
from streams.batching import RawRecord, batches, by_partition, current, raw
from streams.common import idempotency
from streams.common.events import to_millis
from streams.common.outcome import Rejected
from streams.stock import model, rules, tables, views

if TYPE_CHECKING:
    import faust
    from faust.types import EventT, StreamT

    from streams.app import Runtime

INVALID = frozenset({"bad_quantity", "unknown_kind", "bad_transfer"})
RECORD = "omni.inventory.StockMovement"


@dataclass
class Batch:
    """One partition's worth of a batch: the SKUs it touched and what changed."""

    states: dict[str, tables.SkuState] = field(default_factory=dict)
    changed: dict[str, set[str]] = field(default_factory=dict)
    latest_at: dict[str, int] = field(default_factory=dict)


class StockProcessor:
    """Applies batches of movements; one instance per app."""

    def __init__(self, app: faust.App, runtime: Runtime) -> None:
        self.runtime = runtime
        partitions = runtime.settings.topics.partitions_override or STOCK_MOVEMENTS.partitions
        self.source = app.topic(
            STOCK_MOVEMENTS.physical(runtime.settings.topics.prefix),
            key_serializer="raw",
            value_serializer="raw",
            partitions=partitions,
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

    async def run(self, stream: StreamT[Any]) -> None:
        streams = self.runtime.settings.streams
        async for events in batches(stream, streams.batch_max_records, streams.batch_max_wait_s):
            for group in by_partition(events).values():
                await self.apply_partition(group)

    async def apply_partition(self, events: list[EventT[Any]]) -> None:
        batch = Batch()
        for event in events:
            await self.apply_one(raw(event), batch)
        with current(events[-1]):
            for sku, state in batch.states.items():
                self.table[sku.encode()] = tables.encode(state)
        await self.emit(batch)

    async def apply_one(self, record: RawRecord, batch: Batch) -> None:
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
        if verdict is idempotency.Verdict.DUPLICATE:
            metrics.events.labels(record.topic, "StockMovement", "duplicate").inc()
            return
        outcome = rules.apply(state.stock, decoded.record, event)
        if isinstance(outcome, Rejected):
            if outcome.reason in INVALID:
                await self.dead_letter(record, f"invalid:{outcome.reason}", outcome.detail)
                return
            batch.states[sku] = tables.SkuState(state.stock, seen)
            metrics.events.labels(record.topic, "StockMovement", "rejected").inc()
            return
        batch.states[sku] = tables.SkuState(outcome.state, seen)
        batch.changed.setdefault(sku, set()).update(outcome.changed)
        at = to_millis(event["envelope"]["occurred_at"])
        batch.latest_at[sku] = max(batch.latest_at.get(sku, 0), at)
        metrics.events.labels(record.topic, "StockMovement", verdict.value).inc()

    def load(self, sku: str) -> tables.SkuState:
        data = self.table.get(sku.encode())
        return tables.decode(data) if data is not None else tables.empty(sku)

    async def emit(self, batch: Batch) -> None:
        encoder = self.runtime.encoder
        for sku, locations in batch.changed.items():
            stock = batch.states[sku].stock
            for location in sorted(locations):
                level = stock.level(location)
                value = encoder.encode(
                    self.levels_topic, "omni.view.StockLevel", model.to_view(level)
                )
                await self.producer_topic_levels.send(key=f"{sku}@{location}".encode(), value=value)
            total = model.total(stock.levels.values(), sku)
            value = encoder.encode(self.totals_topic, "omni.view.StockTotal", total)
            await self.producer_topic_totals.send(key=sku.encode(), value=value)
            self.runtime.metrics.views.labels("stock-levels").inc(len(locations))
            self.runtime.metrics.views.labels("stock-totals").inc()
            lag_s = max(time.time() - batch.latest_at[sku] / 1000, 0.0)
            self.runtime.metrics.latency.labels("stock-levels").observe(lag_s)

    async def dead_letter(self, record: RawRecord, reason: str, error: BaseException | str) -> None:
        self.runtime.metrics.events.labels(record.topic, "unknown", "dead_letter").inc()
        await self.runtime.dead_letters.send(
            key=record.key,
            value=record.value,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason,
            error=error,
        )


def install(app: faust.App, runtime: Runtime) -> None:
    """Declare the stock table, agent and HTTP views on ``app``."""
    processor = StockProcessor(app, runtime)
    app.agent(processor.source, name="stock-movements")(processor.run)
    views.install(app, processor)
