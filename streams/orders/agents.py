"""Orders agent: fold order events into ``orders_by_id``, run the reservation saga, emit views.

The reservation saga (pickup in store, ship from store)
-------------------------------------------------------
Stock is partitioned by SKU and orders by order id, so an order's lines can
live on several stock partitions and no single transaction can reserve them
all. The saga makes each step idempotent and compensates instead::

    omni.order.events ──(order_id)──> orders agent ──(sku)──> omni.inventory.movements
           ^                               ^                         │
           │                               │                         v
           └── same key, same partitions ──┴──(order_id)── stock agent answers on
                                                           omni.inventory.reservations

1. ``OrderPlaced`` (or ``OrderAllocated`` to another location): the rules'
   ``reserve`` commands become ``reserved`` movements keyed by SKU with
   ``reference=order_id``; the order's ledger marks each ``sku@location``
   ``pending``.
2. The stock agent applies a ``reserved`` movement that carries a reference
   and answers ``ReservationConfirmed`` or ``ReservationRejected`` (keyed by
   order id). Movements of one SKU are applied one at a time on one
   partition and ``reserve`` refuses when fewer units are available, so two
   orders competing for the last unit get one confirmation and one
   rejection: never an oversell.
3. A confirmation marks the hold ``held``. A rejection marks it ``refused``,
   moves the order to ``rejected`` (the rules' ``reject``) and compensates:
   every ``held`` line is released; a ``pending`` one is released as soon
   as its confirmation arrives.
4. ``OrderPickedUp``/``OrderShipped``: each held line becomes ``released``
   then ``sold`` (the movement kind enum has no ``picked_up``; the two
   movements go to the same SKU partition in that order and add up to stock's
   pick-up rule: reserved and on hand both drop). Nothing held there means
   a plain ``sold``. ``OrderCancelled``: held lines are ``released``.
   ``OrderReturned``: ``returned`` at the return location.
   A release or pick-up asked while the hold is still ``pending`` is parked
   and sent on confirmation; a refused hold is never released, because its
   units belong to another order.

Ids are deterministic (:func:`streams.orders.saga.movement_id`: uuid5 of
order, ``sku@location``, kind and the causing event's id) and the stock
processor answers with ids derived from the movement's, so a crash and a
replay re-send the same records and both sides drop them as duplicates.

Thin by design: decode, call the rules and the saga, write each touched
order once per batch, send its movements, emit each changed view once per
batch. Undecodable or invalid records go to the dead-letter topic. Stock
answers every referenced reservation, so an answer whose reference is not a
known order (a POS reservation against a delivery note) is counted
``ignored``, not dead-lettered: it is well formed, just not about an order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from schemas.catalogue import ORDER_EVENTS, ORDER_VIEW, STOCK_MOVEMENTS, STOCK_RESERVATIONS
from schemas.exceptions import DecodeError
from streams.common import idempotency
from streams.common.events import event_id_text, short_name, to_millis
from streams.common.outcome import Rejected
from streams.exceptions import UnsupportedEvent
from streams.facts import FactPublisher
from streams.orders import model, rules, saga, tables, views
from streams.processor import BatchProcessor

if TYPE_CHECKING:
    import faust

    from streams.app import Runtime
    from streams.transport.batch import RawRecord as Record

ORDER_RECORDS = frozenset(ORDER_EVENTS.records)
REPLY_RECORDS = frozenset(STOCK_RESERVATIONS.records)
INVALID = frozenset({"unknown_order"})
MOVEMENT_RECORD = "omni.inventory.StockMovement"
VIEW_RECORD = "omni.view.OrderView"


@dataclass
class Batch:
    """One partition's worth of a batch: touched orders, movements to send, changed views."""

    states: dict[str, tables.OrderState] = field(default_factory=dict)
    movements: list[saga.Movement] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)
    latest_at: dict[str, int] = field(default_factory=dict)
    causes: dict[str, Mapping[str, Any]] = field(default_factory=dict)


def invalid(record_name: str, event: Mapping[str, Any]) -> str | None:
    """What makes an order event unusable whatever the state (a reason label), if anything."""
    if short_name(record_name) not in ("OrderPlaced", "OrderReturned"):
        return None
    lines = event["lines"]
    return "bad_quantity" if not lines or any(line["quantity"] <= 0 for line in lines) else None


class OrdersProcessor(BatchProcessor):
    """Applies batches of order events and stock answers; one instance per app."""

    def __init__(self, app: faust.App, runtime: Runtime) -> None:
        self.runtime = runtime
        prefix = runtime.settings.topics.prefix
        partitions = runtime.settings.topics.partitions_override or ORDER_EVENTS.partitions
        self.source = self.source_topic(
            app,
            ORDER_EVENTS.physical(prefix),
            STOCK_RESERVATIONS.physical(prefix),
            partitions=partitions,
        )
        self.table = tables.orders_table(app, runtime, partitions)
        self.movements_name = STOCK_MOVEMENTS.physical(prefix)
        self.views_name = ORDER_VIEW.physical(prefix)
        self.movements = app.topic(
            self.movements_name, key_serializer="raw", value_serializer="raw"
        )
        self.views = app.topic(self.views_name, key_serializer="raw", value_serializer="raw")
        self.facts = FactPublisher(app, runtime)

    async def apply_partition(self, records: Sequence[Record]) -> Callable[[], None]:
        batch = Batch()
        for record in records:
            await self.apply_one(record, batch)
        await self.send(batch)
        return partial(self.store, batch)

    def store(self, batch: Batch) -> None:
        """Write each touched key once; called after the batch's emissions were flushed."""
        for order_id, state in batch.states.items():
            self.write(order_id.encode(), tables.encode(state))

    async def apply_one(self, record: Record, batch: Batch) -> None:
        try:
            decoded = self.runtime.decoder.decode(record.value)
        except DecodeError as exc:
            await self.dead_letter(record, exc.reason, exc)
            return
        name, event = decoded.record, decoded.value
        if name not in ORDER_RECORDS and name not in REPLY_RECORDS:
            await self.dead_letter(record, "unexpected_record", f"{name} on {record.topic}")
            return
        reason = invalid(name, event) if name in ORDER_RECORDS else None
        if reason is not None:
            await self.dead_letter(record, f"invalid:{reason}", f"{name} {event['order_id']}")
            return
        order_id = event["order_id"]
        state = batch.states.get(order_id) or self.load(order_id)
        verdict, seen = idempotency.admit(state.seen, event["envelope"])
        if verdict is idempotency.Verdict.DUPLICATE:
            self.count(record, name, "duplicate")
            return
        if name in ORDER_RECORDS:
            await self.on_order_event(record, batch, replace(state, seen=seen), name, event)
        else:
            await self.on_reply(record, batch, replace(state, seen=seen), name, event)

    async def on_order_event(
        self, record: Record, batch: Batch, state: tables.OrderState, name: str, event: Any
    ) -> None:
        try:
            outcome = rules.apply(state.order, name, event)
        except UnsupportedEvent as exc:
            await self.dead_letter(record, "unexpected_record", exc)
            return
        order_id, at = event["order_id"], to_millis(event["envelope"]["occurred_at"])
        if isinstance(outcome, Rejected):
            if outcome.reason in INVALID:
                await self.dead_letter(record, f"invalid:{outcome.reason}", outcome.detail)
                return
            batch.states[order_id] = state
            self.count(record, name, "rejected")
            return
        cause = event_id_text(event["envelope"]["event_id"])
        planned = saga.plan(state.holds, outcome.commands, cause, at)
        batch.states[order_id] = tables.OrderState(outcome.state, state.seen, planned.holds)
        batch.movements.extend(planned.movements)
        self.changed(batch, order_id, at)
        batch.causes[order_id] = event["envelope"]
        self.count(record, name, "applied")

    async def on_reply(
        self, record: Record, batch: Batch, state: tables.OrderState, name: str, event: Any
    ) -> None:
        order_id, at = event["order_id"], to_millis(event["envelope"]["occurred_at"])
        order = state.order
        if order is None:  # a reservation referencing something else (a delivery note): not ours
            self.count(record, name, "ignored")
            return
        cause = event_id_text(event["envelope"]["event_id"])
        if short_name(name) == "ReservationConfirmed":
            void = order.status in model.VOID
            planned = saga.confirmed(state.holds, order_id, event, void, cause, at)
            batch.states[order_id] = replace(state, holds=planned.holds)
            batch.movements.extend(planned.movements)
            self.count(record, name, "applied")
            return
        holds = saga.refused(state.holds, event)
        why = f"{event['reason']}: {event['sku']}@{event['location_id']}"
        outcome = rules.reject(order, why, at)
        if isinstance(outcome, Rejected):  # already past the point of rejection: keep the order
            batch.states[order_id] = replace(state, holds=holds)
            self.count(record, name, "rejected")
            return
        planned = saga.release_all(holds, order_id, cause, at)
        batch.states[order_id] = tables.OrderState(outcome.state, state.seen, planned.holds)
        batch.movements.extend(planned.movements)
        self.changed(batch, order_id, at)
        self.count(record, name, "applied")

    def changed(self, batch: Batch, order_id: str, at: int) -> None:
        batch.changed.add(order_id)
        batch.latest_at[order_id] = max(batch.latest_at.get(order_id, 0), at)

    def load(self, order_id: str) -> tables.OrderState:
        data = self.table.get(order_id.encode())
        return tables.decode(data) if data is not None else tables.OrderState(None)

    def lookup(self, order_id: str) -> model.Order | None:
        """The order as this worker holds it (for the query API)."""
        return self.load(order_id).order

    async def send(self, batch: Batch) -> None:
        """Movements first, in the order planned (per SKU partition order is the saga's order)."""
        encoder, metrics = self.runtime.encoder, self.runtime.metrics
        for movement in batch.movements:
            value = encoder.encode(self.movements_name, MOVEMENT_RECORD, saga.to_record(movement))
            await self.runtime.out.send(self.movements_name, movement.sku.encode(), value)
        for order_id in sorted(batch.changed):
            order = batch.states[order_id].order
            if order is None:
                continue
            value = encoder.encode(self.views_name, VIEW_RECORD, model.to_view(order))
            await self.runtime.out.send(self.views_name, order_id.encode(), value)
            metrics.views.labels("orders").inc()
            lag_s = max(time.time() - batch.latest_at[order_id] / 1000, 0.0)
            metrics.latency.labels("orders").observe(lag_s)
            await self.tell_customer(order, batch.causes.get(order_id))

    async def tell_customer(self, order: model.Order, cause: Mapping[str, Any] | None) -> None:
        """The order's summary, for the context of whoever the causing event names."""
        state = {"summary": model.summary(order), "net_minor": model.net_value(order)}
        fallback = {"customer_id": order.customer_id}
        await self.facts.tell("order_summary", order, order.order_id, cause, state, fallback)


def install(app: faust.App, runtime: Runtime) -> None:
    """Declare the orders table, agent and HTTP views on ``app``."""
    processor = OrdersProcessor(app, runtime)
    app.agent(processor.source, name="orders")(processor.run)
    views.install(app, processor)
