"""The mixed workload: a deterministic stream of realistic events over many customers and SKUs.

A retailer's backbone mostly sees clickstream; carts, logins, orders and stock
movements are the minority that changes state the most. ``MIX`` gives the
proportions (``share`` of all events), :class:`Workload` the events: the same
``seed`` gives the same events, byte for byte, so every system in a run reads
the same pre-produced records and two runs can be compared.

Customers are ``CUST-00000001``... with an anonymous id each. Traffic comes in
visits, as on a real site: ``ACTIVE_SESSIONS`` visitors are online at once,
each drawn uniformly from all customers and doing about ``SESSION_EVENTS``
things before leaving; a share of visits start anonymous (keyed by the
anonymous id) and a login (``CustomerIdentified``) merges the visitor's
profile and cart into the customer's. Orders follow their lifecycle (placed,
then paid, then shipped or picked up) on the order's key; pickup and
ship-from-store orders run the stock reservation saga.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.catalogue import topic_for_record
from schemas.samples import sample_event

MIX: tuple[tuple[str, float], ...] = (
    ("omni.customer.ProductViewed", 0.40),
    ("omni.customer.PageViewed", 0.18),
    ("omni.customer.ProductsSearched", 0.08),
    ("omni.customer.ScreenViewed", 0.04),
    ("omni.cart.CartItemAdded", 0.08),
    ("omni.cart.CartItemQuantitySet", 0.02),
    ("omni.cart.CartItemRemoved", 0.03),
    ("omni.cart.CartCheckedOut", 0.01),
    ("omni.customer.CustomerIdentified", 0.02),
    ("omni.customer.IdentifiersLinked", 0.01),
    ("omni.order.OrderPlaced", 0.015),
    ("omni.order.OrderPaid", 0.01),
    ("omni.order.OrderShipped", 0.01),
    ("omni.inventory.StockMovement", 0.095),
)
MOVEMENT_KINDS = (("received", 0.5), ("sold", 0.3), ("adjusted", 0.1), ("counted", 0.1))
FULFILMENT = ("ship", "pickup_in_store", "ship_from_store")
ANONYMOUS_SHARE = 0.4
ACTIVE_SESSIONS = 500
SESSION_EVENTS = 12
Built = dict[str, Any] | tuple[str, dict[str, Any]] | None
_ID_FIELDS = ("customer_id", "anonymous_id", "loyalty_id", "email_sha256", "phone_sha256")


@dataclass(frozen=True)
class Shape:
    """How big the world is."""

    customers: int = 100_000
    skus: int = 5_000
    locations: int = 20
    seed: int = 7


@dataclass(frozen=True, slots=True)
class Event:
    """One event as a producer sends it: record type, topic (unprefixed), key, value."""

    record: str
    topic: str
    key: str
    value: dict[str, Any]


@dataclass
class _Session:
    customer: int
    logged_in: bool
    left: int


@dataclass
class _Order:
    order_id: str
    customer: int
    fulfilment: str
    location: str
    total: int
    stage: int = 0  # 0 placed, 1 paid, 2 shipped or picked up


def customer_id(i: int) -> str:
    return f"CUST-{i:08d}"


def anonymous_id(i: int) -> str:
    return f"anon-{i:010d}"


def sku(i: int) -> str:
    return f"SKU-{i:06d}"


def location(i: int) -> str:
    return f"STORE-{i + 1:03d}"


@dataclass
class Workload:
    """Deterministic generator of :class:`Event` for a :class:`Shape`."""

    shape: Shape = field(default_factory=Shape)
    start: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self.rng = random.Random(self.shape.seed)
        self.records = [name for name, _ in MIX]
        self.weights = [share for _, share in MIX]
        self.templates = {name: sample_event(name, 1) for name in self.records}
        self.orders: list[_Order] = []
        self.sessions: list[_Session] = []
        self.counter = 0
        self.templates["omni.order.OrderPickedUp"] = sample_event("omni.order.OrderPickedUp", 1)
        self.builders: dict[str, Callable[[dict[str, Any]], Built]] = {
            "omni.customer.CustomerIdentified": self._identified,
            "omni.customer.IdentifiersLinked": self._linked,
            "omni.order.OrderPlaced": self._placed,
            "omni.order.OrderPaid": self._paid,
            "omni.order.OrderShipped": self._shipped,
            "omni.inventory.StockMovement": self._movement,
        }

    def events(self, count: int) -> Iterator[Event]:
        """``count`` events in the mix's proportions."""
        made = 0
        while made < count:
            built = self.build(self.rng.choices(self.records, self.weights)[0])
            if built is None:  # e.g. no order to pay yet: draw again
                continue
            record, value = built
            topic = topic_for_record(record)
            assert topic.key is not None
            yield Event(record, topic.name, topic.key.key_of(value), value)
            made += 1

    def build(self, record: str) -> tuple[str, dict[str, Any]] | None:
        """The record type and value of one event of type ``record`` (None: draw again)."""
        self.counter += 1
        value = dict(self.templates[record])
        envelope = dict(value["envelope"])
        envelope.update(
            event_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            occurred_at=self.start + timedelta(milliseconds=self.counter),
            sequence=None,
            correlation_id=None,
        )
        value["envelope"] = envelope
        builder = self.builders.get(record)
        if builder is not None:
            built = builder(value)
            if built is None or isinstance(built, tuple):
                return built
            return record, built
        visit = self.session()
        envelope["identifiers"] = self.identifiers(visit.customer, visit.logged_in)
        if "sku" in value:
            value["sku"] = self.random_sku()
        if record == "omni.cart.CartItemAdded":
            value["quantity"] = self.rng.randint(1, 3)
        return record, value

    def session(self, anonymous: bool = False) -> _Session:
        """One of the visits in progress (an anonymous one if asked); a new visit now and then."""
        if len(self.sessions) < ACTIVE_SESSIONS:
            self.sessions.append(self._new_session())
        pick = self.rng.randrange(len(self.sessions))
        if anonymous:
            for offset in range(len(self.sessions)):
                candidate = (pick + offset) % len(self.sessions)
                if not self.sessions[candidate].logged_in:
                    pick = candidate
                    break
        visit = self.sessions[pick]
        visit.left -= 1
        if visit.left <= 0:
            self.sessions[pick] = self._new_session()
        return visit

    def _new_session(self) -> _Session:
        who = self.rng.randrange(self.shape.customers)
        length = max(1, int(self.rng.expovariate(1 / SESSION_EVENTS)))
        return _Session(who, self.rng.random() >= ANONYMOUS_SHARE, length)

    def identifiers(self, i: int, logged_in: bool) -> dict[str, Any]:
        ids: dict[str, Any] = dict.fromkeys(_ID_FIELDS)
        ids.update(device_id=None, anonymous_id=anonymous_id(i))
        if logged_in:
            ids["customer_id"] = customer_id(i)
        return ids

    def random_sku(self) -> str:
        return sku(self.rng.randrange(self.shape.skus))

    def _identified(self, value: dict[str, Any]) -> dict[str, Any]:
        """A login: the visitor's anonymous profile meets the customer's."""
        visit = self.session(anonymous=True)
        value["envelope"]["identifiers"] = self.identifiers(visit.customer, logged_in=False)
        value["customer_id"] = customer_id(visit.customer)
        visit.logged_in = True
        return value

    def _linked(self, value: dict[str, Any]) -> dict[str, Any]:
        """A loyalty scan: the customer's loyalty id joins the profile."""
        who = self.session().customer
        value["envelope"]["identifiers"] = self.identifiers(who, logged_in=True)
        linked = dict.fromkeys(_ID_FIELDS)
        linked.update(device_id=None, loyalty_id=f"LOY-{who:010d}")
        value["linked"] = linked
        return value

    def _placed(self, value: dict[str, Any]) -> dict[str, Any]:
        who = self.session().customer
        order = _Order(
            order_id=f"ORDER-{self.counter:09d}",
            customer=who,
            fulfilment=self.rng.choice(FULFILMENT),
            location=location(self.rng.randrange(self.shape.locations)),
            total=0,
        )
        lines = []
        for n in range(self.rng.randint(1, 3)):
            price, quantity = self.rng.randint(500, 20_000), self.rng.randint(1, 2)
            line = {"line_id": f"{order.order_id}-{n}", "sku": self.random_sku()}
            lines.append({**line, "quantity": quantity, "unit_price_minor": price})
            order.total += price * quantity
        value["envelope"]["identifiers"] = self.identifiers(who, logged_in=True)
        value.update(
            order_id=order.order_id,
            fulfilment=order.fulfilment,
            location_id=order.location,
            lines=lines,
            total_minor=order.total,
        )
        self.orders.append(order)
        return value

    def _next_order(self, stage: int) -> _Order | None:
        """A recent order at ``stage`` (an old one is rarely touched again)."""
        recent = self.orders[-200:]
        candidates = [o for o in recent if o.stage == stage]
        if not candidates:
            return None
        order = self.rng.choice(candidates)
        order.stage += 1
        return order

    def _paid(self, value: dict[str, Any]) -> dict[str, Any] | None:
        order = self._next_order(0)
        if order is None:
            return None
        value["envelope"]["identifiers"] = self.identifiers(order.customer, logged_in=True)
        value.update(order_id=order.order_id, amount_minor=order.total)
        return value

    def _shipped(self, value: dict[str, Any]) -> Built:
        order = self._next_order(1)
        if order is None:
            return None
        value["envelope"]["identifiers"] = self.identifiers(order.customer, logged_in=True)
        value["order_id"] = order.order_id
        if order.fulfilment != "pickup_in_store":
            return value
        # Pickup orders end with ``OrderPickedUp`` at their store instead of a shipment.
        picked = dict(self.templates["omni.order.OrderPickedUp"])
        picked.update(envelope=value["envelope"], order_id=order.order_id)
        picked["location_id"] = order.location
        return "omni.order.OrderPickedUp", picked

    def _movement(self, value: dict[str, Any]) -> dict[str, Any]:
        kinds = [kind for kind, _ in MOVEMENT_KINDS]
        kind = self.rng.choices(kinds, [share for _, share in MOVEMENT_KINDS])[0]
        value["envelope"]["identifiers"] = dict.fromkeys((*_ID_FIELDS, "device_id"))
        value.update(
            sku=self.random_sku(),
            location_id=location(self.rng.randrange(self.shape.locations)),
            kind=kind,
            quantity=self.rng.randint(1, 20) if kind != "counted" else self.rng.randint(0, 60),
            movement_id=f"MOVEMENT-{self.counter:09d}",
            reference=None,
            to_location_id=None,
        )
        return value
