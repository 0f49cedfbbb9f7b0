"""The expected views: a pure-Python replay of the input through the processors' own rules.

The replay folds each *distinct* input event once (first copy wins), per
partition in offset order, with the same pure functions the agents call
(``streams.*.rules``, the saga, the view builders). A lost event or one
applied twice therefore shows as a key whose view differs, and the view's
``version`` (one step per applied change) says by how many changes.

Glue that the agents own (which table a cart event touches, that a new
profile first learns its identity key) is mirrored here in a few lines; the
decisions themselves are never re-implemented. The saga is replayed with
every reservation confirmed at once: the workload seeds order SKUs so that
is what happens, and the end state does not depend on when answers arrive
(see :mod:`tests.faults.workload`).

Customer contexts of buyers are compared without ``version``: orders publish
one fact per processed batch, so how many intermediate facts a context folds
depends on batching, while what it ends up holding does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.catalogue import (
    CART_VIEW,
    CUSTOMER_CONTEXT_VIEW,
    ORDER_EVENTS,
    ORDER_VIEW,
    STOCK_LEVEL_VIEW,
    STOCK_MOVEMENTS,
    STOCK_TOTAL_VIEW,
)
from streams.carts import agents as cart_side
from streams.carts import model as cart_model
from streams.common.events import event_id_text, meta, short_name, to_millis
from streams.common.outcome import Applied, Rejected
from streams.context import model as context_model
from streams.context import rules as context_rules
from streams.orders import model as order_model
from streams.orders import rules as order_rules
from streams.orders import saga
from streams.stock import model as stock_model
from streams.stock import rules as stock_rules

MOVEMENT = "omni.inventory.StockMovement"
SAGA_SOURCE = saga.SOURCE
CUSTOMER_KIND = "customer"
# View topic (catalogue name) -> Avro record of its values.
VIEW_RECORDS = {
    CUSTOMER_CONTEXT_VIEW.name: "omni.view.CustomerContext",
    CART_VIEW.name: "omni.view.CartView",
    STOCK_LEVEL_VIEW.name: "omni.view.StockLevel",
    STOCK_TOTAL_VIEW.name: "omni.view.StockTotal",
    ORDER_VIEW.name: "omni.view.OrderView",
}


@dataclass(frozen=True, slots=True)
class InputEvent:
    """One decoded input record, as read back from its topic."""

    topic: str  # catalogue name, without the deployment prefix
    record: str
    value: Mapping[str, Any]

    @property
    def event_id(self) -> str:
        return event_id_text(self.value["envelope"]["event_id"])


@dataclass
class Expected:
    """What every view must hold, and which keys are compared without ``version``."""

    views: dict[str, dict[str, dict[str, Any] | None]]
    unversioned: set[tuple[str, str]] = field(default_factory=set)
    dead_letters: int = 0


@dataclass
class _Profile:
    ctx: context_model.Context
    cart: cart_model.Cart | None = None


class Replay:
    """Folds input events; :meth:`expected` builds the views."""

    def __init__(self, buyers: Iterable[str] = ()) -> None:
        self.buyers = set(buyers)
        self.seen: set[str] = set()
        self.stock: dict[str, stock_model.Stock] = {}
        self.orders: dict[str, order_model.Order] = {}
        self.holds: dict[str, Mapping[str, saga.Hold]] = {}
        self.profiles: dict[str, _Profile] = {}
        self.dead_letters = 0

    def feed(self, events: Iterable[InputEvent]) -> None:
        """Events of one partition (or any per-key order-preserving sequence)."""
        for event in events:
            if event.event_id in self.seen:
                continue
            self.seen.add(event.event_id)
            self.apply(event)

    def apply(self, event: InputEvent) -> None:
        if event.topic == STOCK_MOVEMENTS.name:
            if event.value["envelope"]["source"] != SAGA_SOURCE:  # the replay runs its own saga
                self.move(event.value)
        elif event.topic == ORDER_EVENTS.name:
            self.order(event.record, event.value)
        else:
            self.shopper(event.record, event.value)

    # -- stock ------------------------------------------------------------------------

    def move(self, movement: Mapping[str, Any]) -> None:
        outcome = stock_rules.apply(self.stock.get(movement["sku"]), MOVEMENT, movement)
        if isinstance(outcome, stock_rules.Moved):
            self.stock[movement["sku"]] = outcome.state
        elif outcome.reason in ("bad_quantity", "unknown_kind", "bad_transfer"):
            self.dead_letters += 1

    # -- orders and the saga (every reservation confirmed) -----------------------------

    def order(self, record: str, event: Mapping[str, Any]) -> None:
        order_id = event["order_id"]
        outcome = order_rules.apply(self.orders.get(order_id), record, event)
        if isinstance(outcome, Rejected):
            self.dead_letters += int(outcome.reason == "unknown_order")
            return
        self.orders[order_id] = outcome.state
        cause, at = event_id_text(event["envelope"]["event_id"]), meta(event).at
        planned = saga.plan(self.holds.get(order_id, {}), outcome.commands, cause, at)
        self.holds[order_id] = planned.holds
        self.run_movements(order_id, planned.movements)

    def run_movements(self, order_id: str, movements: Iterable[saga.Movement]) -> None:
        for movement in movements:
            self.move(saga.to_record(movement))
            if movement.kind == "reserved":
                self.confirm(order_id, movement)

    def confirm(self, order_id: str, movement: saga.Movement) -> None:
        reply = {"sku": movement.sku, "location_id": movement.location_id,
                 "quantity": movement.quantity}  # fmt: skip
        void = self.orders[order_id].status in order_model.VOID
        cause = f"confirmed:{movement.event_id}"
        planned = saga.confirmed(self.holds[order_id], order_id, reply, void, cause, movement.at)
        self.holds[order_id] = planned.holds
        self.run_movements(order_id, planned.movements)

    # -- shoppers: stage 2 of the customer pipeline -----------------------------------

    def profile(self, customer_id: str) -> _Profile:
        """A new profile first learns its identity key (stage 1's ``identifiers`` command)."""
        if customer_id not in self.profiles:
            ctx = context_model.Context(customer_id)
            ctx = context_rules.with_identifiers(ctx, [f"customer:{customer_id}"], 0)
            self.profiles[customer_id] = _Profile(ctx)
        return self.profiles[customer_id]

    def shopper(self, record: str, event: Mapping[str, Any]) -> None:
        customer_id = event["envelope"]["identifiers"]["customer_id"]
        profile = self.profile(customer_id)
        name, at = short_name(record), meta(event).at
        if name in cart_side.CART_RECORDS:
            outcome = cart_side.apply_event(profile.cart, customer_id, CUSTOMER_KIND, name, event)
            new = cart_side.changed(outcome, profile.cart)
            if new is not None:
                profile.cart = new
                profile.ctx = context_rules.with_cart(profile.ctx, cart_model.summary(new), at)
        applied = context_rules.apply(profile.ctx, name, event)
        if isinstance(applied, Applied):
            profile.ctx = applied.state

    # -- the views --------------------------------------------------------------------

    def expected(self) -> Expected:
        views: dict[str, dict[str, dict[str, Any] | None]] = {name: {} for name in VIEW_RECORDS}
        for sku, stock in self.stock.items():
            for level in stock.levels.values():
                views[STOCK_LEVEL_VIEW.name][f"{sku}@{level.location_id}"] = stock_model.to_view(
                    level
                )
            if stock.levels:
                views[STOCK_TOTAL_VIEW.name][sku] = stock_model.total(stock.levels.values(), sku)
        for order_id, order in self.orders.items():
            views[ORDER_VIEW.name][order_id] = order_model.to_view(order)
        unversioned = self.buyer_contexts(views[CUSTOMER_CONTEXT_VIEW.name])
        for customer_id, profile in self.profiles.items():
            views[CUSTOMER_CONTEXT_VIEW.name][customer_id] = context_model.to_view(profile.ctx)
            if profile.cart is not None:
                views[CART_VIEW.name][customer_id] = cart_side.view(profile.cart)
        return Expected(views, unversioned, self.dead_letters)

    def buyer_contexts(self, out: dict[str, dict[str, Any] | None]) -> set[tuple[str, str]]:
        """Each buyer's context after the final fact of each of their orders."""
        contexts: dict[str, context_model.Context] = {}
        for order in self.orders.values():
            buyer = order.customer_id
            if buyer is None or buyer not in self.buyers:
                continue
            ctx = contexts.get(buyer) or context_rules.with_identifiers(
                context_model.Context(buyer), [f"customer:{buyer}"], 0
            )
            net = order_model.net_value(order)
            summary = order_model.summary(order)
            contexts[buyer] = context_rules.with_order(
                ctx, summary, net, to_millis(order.updated_at)
            )
        for buyer, ctx in contexts.items():
            out[buyer] = context_model.to_view(ctx)
        return {(CUSTOMER_CONTEXT_VIEW.name, buyer) for buyer in contexts}
