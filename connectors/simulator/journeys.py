"""Multi-channel journeys: what each simulated customer does, as a pure function of the seed.

Every customer browses the web shop anonymously and puts something in the
cart, logs in (which ties the cookie, e-mail, phone and loyalty card to the
customer id), opens the app and adds to the same cart from the phone. Then,
by the customer's own dice: a pickup-in-store order collected at the home
store (sometimes returned at another store), a store visit with a loyalty
scan and a sale (sometimes refunded on the web: returned in another
channel), and a chat or a call with the service desk. The ERP counts every
location and prices every SKU before any customer arrives, and delivers
goods and changes prices while they shop.

Steps of one journey are sent one after the other, each only once the
previous one was acknowledged, so an order is placed before it is picked up;
journeys run side by side.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from connectors.simulator.messages import Messages, Step, app_who, shopper, web_who
from connectors.simulator.world import Customer, Product, World


@dataclass(frozen=True)
class Plan:
    """What a run sends: the ERP prelude first, then every journey side by side."""

    prelude: tuple[Step, ...]
    journeys: tuple[tuple[Step, ...], ...]

    def steps(self) -> Iterator[Step]:
        yield from self.prelude
        for journey in self.journeys:
            yield from journey

    def events(self) -> int:
        return sum(step.events for step in self.steps())

    def expected(self) -> Counter[str]:
        """Avro records per topic the connectors publish for the whole plan."""
        total: Counter[str] = Counter()
        for step in self.steps():
            total.update(step.expect)
        return total

    def pickup_orders(self) -> dict[str, str]:
        """Pickup-in-store order id -> the customer id that placed it."""
        found = {}
        for step in self.steps():
            for message in step.body.get("batch", []):
                props = message.get("properties", {})
                if props.get("fulfilment") == "pickup_in_store":
                    found[props["order_id"]] = message["userId"]
        return found


def _price(product: Product) -> float:
    return product.price_minor / 100


def _product(product: Product, quantity: int = 1, line_id: str = "1") -> dict[str, Any]:
    return {
        "sku": product.sku,
        "name": product.name,
        "category": product.category,
        "price": _price(product),
        "quantity": quantity,
        "line_id": line_id,
    }


def _browse_and_login(m: Messages, c: Customer, picks: list[Product]) -> list[Step]:
    anon, known = web_who(c, False), web_who(c, True)
    first = picks[0]
    browse = [
        m.segment(anon, "page", properties={"url": "https://shop.example/", "title": "Home"}),
        m.track(anon, "Products Searched", query=first.category),
        m.track(anon, "Product Viewed", **_product(first)),
        m.track(anon, "Product Added", sku=first.sku, quantity=1, price=_price(first)),
    ]
    traits = {
        "email": c.email,
        "phone": c.phone,
        "loyalty_id": c.loyalty_id,
        "first_name": c.first_name,
        "preferred_store": c.home_store,
    }
    login = [m.segment(known, "identify", traits=traits)]
    return [m.batch(browse), m.batch(login)]


def _app_session(m: Messages, c: Customer, product: Product) -> Step:
    anon, known = app_who(c, False), app_who(c, True)
    messages = [
        m.segment(anon, "screen", name="Home"),
        m.segment(known, "identify", traits={"first_name": c.first_name}),
        m.track(known, "Product Added", sku=product.sku, quantity=1, price=_price(product)),
    ]
    return m.batch(messages, key="app")


def _pickup(
    m: Messages, c: Customer, w: World, cart: list[Product], rng: random.Random
) -> list[Step]:
    order_id = f"O-{w.tag}-{c.index:05d}"
    lines = [_product(p, 1, str(n)) for n, p in enumerate(cart, start=1)]
    total = sum(p.price_minor for p in cart) / 100
    props = {
        "order_id": order_id,
        "checkout_id": f"CO-{w.tag}-{c.index:05d}",
        "products": lines,
        "total": total,
        "currency": "EUR",
        "fulfilment": "pickup_in_store",
        "location_id": c.home_store,
    }
    key = rng.choice(("web", "app"))
    who = web_who(c, True) if key == "web" else app_who(c, True)
    steps = [m.batch([m.track(who, "Order Completed", **props)], key=key)]
    steps.append(
        m.receipt(
            "pickup", f"R-{w.tag}-{c.index:05d}-P", c.home_store, order_id=order_id, **shopper(c)
        )
    )
    if rng.random() < 0.3:
        other = next(s for s in w.stores if s != c.home_store)
        line = {
            "line_id": "1",
            "sku": cart[0].sku,
            "quantity": 1,
            "unit_price_minor": cart[0].price_minor,
        }
        steps.append(
            m.receipt(
                "return",
                f"R-{w.tag}-{c.index:05d}-RT",
                other,
                order_id=order_id,
                lines=[line],
                reason="wrong size",
                **shopper(c),
            )
        )
    return steps


def _store_visit(m: Messages, c: Customer, w: World, rng: random.Random) -> list[Step]:
    receipt_id = f"R-{w.tag}-{c.index:05d}-S"
    bought = rng.sample(w.products, k=rng.randint(1, 2))
    lines = [
        {
            "line_id": str(n),
            "sku": p.sku,
            "quantity": rng.randint(1, 2),
            "unit_price_minor": p.price_minor,
        }
        for n, p in enumerate(bought, start=1)
    ]
    steps = [
        m.receipt("loyalty_scan", f"R-{w.tag}-{c.index:05d}-L", c.home_store, **shopper(c)),
        m.receipt(
            "sale",
            receipt_id,
            c.home_store,
            payment_method="card",
            lines=lines,
            terminal_id="T1",
            **shopper(c, customer_id=False),
        ),
    ]
    if rng.random() < 0.3:
        refund = {
            "order_id": receipt_id,
            "currency": "EUR",
            "reason": "changed mind",
            "products": [_product(bought[0], 1, "1")],
        }
        steps.append(m.batch([m.track(web_who(c, True), "Order Refunded", **refund)]))
    return steps


def _service(m: Messages, c: Customer, w: World, rng: random.Random) -> list[Step]:
    case_id = f"CASE-{w.tag}-{c.index:05d}"
    if rng.random() < 0.6:
        chat: dict[str, Any] = {
            "channel": "chat",
            "customer": {"phone": c.phone},
            "case_id": case_id,
        }
        events: list[dict[str, Any]] = [
            {
                "type": "case.opened",
                "subject": "Where is my order?",
                "category": "delivery",
                **chat,
            },
            {
                "type": "case.message",
                "author": "customer",
                "medium": "chat",
                "body": "Hello, where is my order?",
                **chat,
            },
            {
                "type": "case.message",
                "author": "agent",
                "medium": "chat",
                "body": "It is ready at your store.",
                **chat,
            },
            {"type": "case.resolved", "resolution": "informed", **chat},
        ]
    else:
        call: dict[str, Any] = {
            "channel": "call_centre",
            "customer": {"email": c.email},
            "case_id": case_id,
        }
        call_id = f"CALL-{w.tag}-{c.index:05d}"
        events = [
            {"type": "case.opened", "subject": "Question about a product", **call},
            {"type": "call.started", "call_id": call_id, "direction": "inbound", **call},
            {"type": "call.ended", "call_id": call_id, "duration_s": rng.randint(30, 900), **call},
            {"type": "case.resolved", "resolution": "answered", **call},
        ]
    events.append(
        {
            "type": "csat.submitted",
            "case_id": case_id,
            "score": rng.randint(3, 5),
            "customer": {"phone": c.phone},
        }
    )
    return [m.desk([event]) for event in events]


def customer_journey(world: World, c: Customer) -> tuple[Step, ...]:
    rng = random.Random(f"{world.seed}/journey/{c.index}")
    m = Messages(world.seed, c.customer_id)
    picks = rng.sample(world.products, k=2)
    steps = [*_browse_and_login(m, c, picks), _app_session(m, c, picks[1])]
    if rng.random() < 0.6:
        steps += _pickup(m, c, world, picks, rng)
    if rng.random() < 0.5:
        steps += _store_visit(m, c, world, rng)
    if rng.random() < 0.5:
        steps += _service(m, c, world, rng)
    return tuple(steps)


def erp_prelude(world: World) -> tuple[Step, ...]:
    """Every location counted and every SKU priced before the first customer arrives."""
    rng = random.Random(f"{world.seed}/erp/prelude")
    m = Messages(world.seed, "erp")
    steps = []
    for store in world.stores:
        counts = {sku: rng.randint(20, 80) for sku in world.skus}
        steps.append(m.snapshot(f"SNAP-{store}-1", store, counts))
    depot = {sku: rng.randint(100, 500) for sku in world.skus}
    steps.append(m.snapshot(f"SNAP-{world.warehouse}-1", world.warehouse, depot))
    steps.append(m.prices(1, list(world.products)))
    return tuple(steps)


def erp_journey(world: World) -> tuple[Step, ...]:
    """Deliveries to stores and price changes while customers shop."""
    rng = random.Random(f"{world.seed}/erp/run")
    m = Messages(world.seed, "erp-run")
    steps = []
    for round_ in range(max(1, len(world.customers) // 20)):
        store = rng.choice(world.stores)
        delivered = {sku: rng.randint(5, 20) for sku in rng.sample(world.skus, k=3)}
        steps.append(m.delivery(store, delivered))
        if round_ % 3 == 0:
            repriced = rng.sample(world.products, k=3)
            steps.append(m.prices(round_ + 2, [_repriced(p, rng) for p in repriced]))
    return tuple(steps)


def _repriced(product: Product, rng: random.Random) -> Product:
    factor = rng.choice((80, 90, 110))
    return Product(product.sku, product.name, product.category, product.price_minor * factor // 100)


def plan(world: World) -> Plan:
    journeys = [erp_journey(world)] + [customer_journey(world, c) for c in world.customers]
    return Plan(erp_prelude(world), tuple(journeys))
