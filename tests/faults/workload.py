"""A deterministic workload: the same seed gives the same events, ids, keys and times.

A failure must replay exactly, so nothing here reads a clock or a global
random source: every id, key, quantity and ``occurred_at`` comes from one
``random.Random(seed)``. Every event carries a fresh ``event_id`` and a
per-key ``envelope.sequence`` (per source, as the idempotency rule reads it).

Three populations keep the expected views computable by a pure replay
(:mod:`tests.faults.replay`) whatever the batching and the faults:

* **shelf SKUs** get direct stock movements (received, sold, adjusted,
  counted, transferred, unreferenced reservations and releases);
* **shoppers** (identified by customer id only, so no profile ever merges)
  send cart events, product and page views, consents and logins;
* **buyers** place pickup-in-store orders of **order SKUs** and walk them
  through paid, ready and picked up: the reservation saga runs for every one.
  Order SKUs are seeded (:attr:`Workload.seeding`) with far more units than
  all orders need, stamped after every order event, so every reservation is
  confirmed and the saga's effect on stock does not depend on timing.
"""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas.catalogue import (
    CART_EVENTS,
    CONSENT_EVENTS,
    CUSTOMER_INTERACTIONS,
    IDENTITY_EVENTS,
    ORDER_EVENTS,
    STOCK_MOVEMENTS,
    Topic,
)
from schemas.samples import BASE_TIME, sample_event

MOVEMENT = "omni.inventory.StockMovement"
SEED_UNITS = 10_000_000
UNIT_PRICE = 1_250
MAX_ORDERS_PER_BUYER = 5
SEEDED_AT = BASE_TIME + timedelta(days=3650)  # after every order event: see the module doc
IDENTIFIER_FIELDS = (
    "customer_id",
    "anonymous_id",
    "device_id",
    "email_sha256",
    "phone_sha256",
    "loyalty_id",
)
SHELF_KINDS = (
    ("received", 5),
    ("sold", 4),
    ("adjusted", 2),
    ("transferred", 1),
    ("counted", 1),
    ("reserved", 1),
    ("released", 1),
)
SHOPPER_EVENTS = (
    ("omni.cart.CartItemAdded", 8),
    ("omni.cart.CartItemQuantitySet", 2),
    ("omni.cart.CartItemRemoved", 2),
    ("omni.cart.CartCheckedOut", 1),
    ("omni.customer.ProductViewed", 4),
    ("omni.customer.PageViewed", 2),
    ("omni.customer.ConsentChanged", 1),
    ("omni.customer.CustomerIdentified", 1),
)
ORDER_STEPS = (
    "omni.order.OrderPaid",
    "omni.order.OrderReadyForPickup",
    "omni.order.OrderPickedUp",
)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One event to produce: where, under which key, and its Avro value."""

    topic: Topic
    record: str
    key: str
    value: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.value["envelope"]["event_id"])


@dataclass(frozen=True)
class Shape:
    """How many of each entity the workload spreads its events over."""

    shelf_skus: int = 200
    order_skus: int = 200
    shoppers: int = 1_000
    locations: int = 3
    shelf_share: float = 0.35
    shopper_share: float = 0.35


@dataclass
class Workload:
    """The events of one run, in production order, and what the replay must know."""

    seed: int
    seeding: list[Outgoing]
    events: list[Outgoing]
    buyers: set[str] = field(default_factory=set)


class _Templates:
    """One sample per record type, copied and overridden: no pydantic per event."""

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, Any]] = {}

    def get(self, record: str) -> dict[str, Any]:
        if record not in self._cache:
            self._cache[record] = sample_event(record, 0)
        return copy.deepcopy(self._cache[record])


class Generator:
    """Builds a :class:`Workload`; every draw comes from one seeded ``Random``."""

    def __init__(self, seed: int, shape: Shape | None = None) -> None:
        self.seed = seed
        self.shape = shape or Shape()
        self.rng = random.Random(seed)
        self.templates = _Templates()
        self.sequences: dict[tuple[str, str], int] = {}
        self.clock = BASE_TIME
        self.open_orders: list[tuple[str, str, int]] = []  # (order id, buyer, next step)
        self.buyer_orders: dict[str, int] = {}
        self.order_count = 0
        tag = f"{seed:x}"
        self.shelf = [f"SKU-S{tag}-{n:04d}" for n in range(self.shape.shelf_skus)]
        self.order_skus = [f"SKU-O{tag}-{n:04d}" for n in range(self.shape.order_skus)]
        self.shoppers = [f"CUST-S{tag}-{n:05d}" for n in range(self.shape.shoppers)]
        self.locations = [f"STORE-{n:03d}" for n in range(1, self.shape.locations + 1)]

    def build(self, count: int, touch: bool = False) -> Workload:
        events = [self.next_event() for _ in range(count)]
        if touch:
            events += self.touches()
        buyers = set(self.buyer_orders)
        return Workload(self.seed, self.seeding(), events, buyers)

    def touches(self) -> list[Outgoing]:
        """One change to every SKU and every shopper, so each re-emits its view from state."""
        out = []
        for sku in self.shelf + self.order_skus:
            self.clock += timedelta(milliseconds=1)
            out.append(self.movement(sku, self.locations[0], "received", 1))
        record = "omni.customer.ProductViewed"
        for customer in self.shoppers:
            self.clock += timedelta(milliseconds=1)
            value = self.templates.get(record)
            value["envelope"] = self.envelope(customer, "fault-web", "web", customer, self.clock)
            value.update(sku=self.shelf[0], price_minor=UNIT_PRICE)
            out.append(_out(CUSTOMER_INTERACTIONS, record, value))
        return out

    def seeding(self) -> list[Outgoing]:
        """Stock for every order SKU at every location, stamped after all order events."""
        return [
            self.movement(sku, loc, "received", SEED_UNITS, at=SEEDED_AT, source="fault-seeding")
            for sku in self.order_skus
            for loc in self.locations
        ]

    def next_event(self) -> Outgoing:
        self.clock += timedelta(milliseconds=self.rng.randint(1, 20))
        draw = self.rng.random()
        if draw < self.shape.shelf_share:
            return self.shelf_movement()
        if draw < self.shape.shelf_share + self.shape.shopper_share:
            return self.shopper_event()
        return self.order_event()

    # -- envelopes ---------------------------------------------------------------------

    def envelope(
        self, key: str, source: str, channel: str, customer_id: str | None, at: datetime
    ) -> dict[str, Any]:
        seq_key = (source, key)
        self.sequences[seq_key] = self.sequences.get(seq_key, 0) + 1
        identifiers: dict[str, Any] = dict.fromkeys(IDENTIFIER_FIELDS)
        identifiers["customer_id"] = customer_id
        return {
            "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "occurred_at": at,
            "channel": channel,
            "source": source,
            "identifiers": identifiers,
            "session_id": None,
            "correlation_id": None,
            "sequence": self.sequences[seq_key],
        }

    def weighted(self, choices: tuple[tuple[str, int], ...]) -> str:
        names = [name for name, _ in choices]
        weights = [weight for _, weight in choices]
        return self.rng.choices(names, weights)[0]

    # -- shelf stock -------------------------------------------------------------------

    def movement(
        self,
        sku: str,
        location: str,
        kind: str,
        quantity: int,
        at: datetime | None = None,
        source: str = "fault-erp",
        to_location: str | None = None,
    ) -> Outgoing:
        value = self.templates.get(MOVEMENT)
        envelope = self.envelope(sku, source, "erp", None, at or self.clock)
        value.update(
            envelope=envelope,
            movement_id=envelope["event_id"],
            sku=sku,
            location_id=location,
            kind=kind,
            quantity=quantity,
            to_location_id=to_location,
            reference=None,
        )
        return _out(STOCK_MOVEMENTS, MOVEMENT, value)

    def shelf_movement(self) -> Outgoing:
        sku = self.rng.choice(self.shelf)
        location = self.rng.choice(self.locations)
        kind = self.weighted(SHELF_KINDS)
        if kind == "adjusted":
            return self.movement(sku, location, kind, self.rng.choice((-3, -2, -1, 1, 2, 3)))
        if kind == "counted":
            return self.movement(sku, location, kind, self.rng.randint(0, 60))
        if kind == "transferred":
            target = self.rng.choice([loc for loc in self.locations if loc != location])
            return self.movement(sku, location, kind, self.rng.randint(1, 4), to_location=target)
        return self.movement(sku, location, kind, self.rng.randint(1, 6))

    # -- shoppers ----------------------------------------------------------------------

    def shopper_event(self) -> Outgoing:
        customer = self.rng.choice(self.shoppers)
        record = self.weighted(SHOPPER_EVENTS)
        topic = _topic_of(record)
        source = f"fault-{topic.name.rsplit('.', 2)[-2]}"
        channel = self.rng.choice(("web", "app", "store"))
        value = self.templates.get(record)
        value["envelope"] = self.envelope(customer, source, channel, customer, self.clock)
        value.update(self.shopper_fields(record, customer))
        return _out(topic, record, value)

    def shopper_fields(self, record: str, customer: str) -> dict[str, Any]:
        sku = self.rng.choice(self.shelf[:40])  # a small range, so carts repeat SKUs
        name = record.rpartition(".")[2]
        if name == "CartItemAdded":
            price = self.rng.choice((None, UNIT_PRICE, UNIT_PRICE + 100))
            return {"cart_id": None, "sku": sku, "quantity": self.rng.randint(1, 3),
                    "unit_price_minor": price, "currency": "EUR"}  # fmt: skip
        if name == "CartItemQuantitySet":
            return {"cart_id": None, "sku": sku, "quantity": self.rng.randint(0, 4)}
        if name == "CartItemRemoved":
            return {"cart_id": None, "sku": sku}
        if name == "CartCheckedOut":
            return {"cart_id": None, "order_id": None}
        if name == "ProductViewed":
            return {"sku": sku, "price_minor": UNIT_PRICE}
        if name == "ConsentChanged":
            purpose = self.rng.choice(("marketing", "personalisation", "analytics"))
            return {"consent_channel": self.rng.choice(("email", "sms")), "purpose": purpose,
                    "granted": self.rng.random() < 0.5}  # fmt: skip
        if name == "CustomerIdentified":
            tier = self.rng.choice(("gold", "silver", "bronze"))
            return {"customer_id": customer, "traits": {"tier": tier}}
        return {}

    # -- buyers and the saga -----------------------------------------------------------

    def order_event(self) -> Outgoing:
        if self.open_orders and (len(self.open_orders) > 40 or self.rng.random() < 0.7):
            index = self.rng.randrange(len(self.open_orders))
            order_id, buyer, step = self.open_orders[index]
            if step + 1 == len(ORDER_STEPS):
                self.open_orders.pop(index)
            else:
                self.open_orders[index] = (order_id, buyer, step + 1)
            return self.order_step(order_id, buyer, ORDER_STEPS[step])
        return self.place_order()

    def new_buyer(self) -> str:
        """A buyer with fewer than ``MAX_ORDERS_PER_BUYER`` orders (the context keeps 10)."""
        open_buyers = [b for b, n in self.buyer_orders.items() if n < MAX_ORDERS_PER_BUYER]
        if open_buyers and self.rng.random() < 0.6:
            buyer = self.rng.choice(open_buyers)
        else:
            buyer = f"CUST-B{self.seed:x}-{len(self.buyer_orders):05d}"
        self.buyer_orders[buyer] = self.buyer_orders.get(buyer, 0) + 1
        return buyer

    def place_order(self) -> Outgoing:
        self.order_count += 1
        order_id = f"ORD-{self.seed:x}-{self.order_count:06d}"
        buyer = self.new_buyer()
        skus = self.rng.sample(self.order_skus, self.rng.randint(1, 2))
        quantities = [self.rng.randint(1, 3) for _ in skus]
        lines: list[dict[str, Any]] = [
            {"line_id": str(n), "sku": sku, "quantity": qty, "unit_price_minor": UNIT_PRICE}
            for n, (sku, qty) in enumerate(zip(skus, quantities, strict=True), 1)
        ]
        record = "omni.order.OrderPlaced"
        value = self.templates.get(record)
        value["envelope"] = self.envelope(order_id, "fault-oms", "web", buyer, self.clock)
        value.update(
            order_id=order_id,
            lines=lines,
            fulfilment="pickup_in_store",
            location_id=self.rng.choice(self.locations),
            currency="EUR",
            total_minor=sum(quantities) * UNIT_PRICE,
        )
        self.open_orders.append((order_id, buyer, 0))
        return _out(ORDER_EVENTS, record, value)

    def order_step(self, order_id: str, buyer: str, record: str) -> Outgoing:
        value = self.templates.get(record)
        value["envelope"] = self.envelope(order_id, "fault-oms", "store", buyer, self.clock)
        value["order_id"] = order_id
        if record.endswith("OrderPaid"):
            value.update(amount_minor=UNIT_PRICE, currency="EUR", payment_method="card")
        else:
            value["location_id"] = self.locations[0]  # informational: the hold decides where
        return _out(ORDER_EVENTS, record, value)


def _out(topic: Topic, record: str, value: dict[str, Any]) -> Outgoing:
    """Keyed by the catalogue's rule for the topic, as every producer of the backbone keys."""
    if topic.key is None:
        raise ValueError(f"{topic.name} has no key rule")
    return Outgoing(topic, record, topic.key.key_of(value), value)


def _topic_of(record: str) -> Topic:
    for topic in (CART_EVENTS, CUSTOMER_INTERACTIONS, CONSENT_EVENTS, IDENTITY_EVENTS):
        if topic.carries(record):
            return topic
    raise ValueError(f"{record} is not a shopper event")


def generate(seed: int, count: int, shape: Shape | None = None, touch: bool = False) -> Workload:
    """``count`` events for ``seed``; ``touch`` appends :meth:`Generator.touches`."""
    return Generator(seed, shape).build(count, touch)


def chunks(events: list[Outgoing], size: int) -> Iterator[list[Outgoing]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]
