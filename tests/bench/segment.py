"""What web and app SDKs send the collector: Segment Tracking API messages, in visits.

The same visit model as :mod:`tests.bench.workload` (many visitors online at
once, some anonymous until they log in), in Segment's vocabulary: pages,
``Product Viewed``, ``Products Searched``, ``Product Added`` and ``identify``.
Every ``Product Added`` names a SKU no other message uses, so the cart view
that shows it can be matched to the message that caused it (B2). Messages
carry no ``timestamp``: the collector stamps them when it receives them, so
bodies made ahead of a run do not look old.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.bench.workload import ANONYMOUS_SHARE, SESSION_EVENTS, anonymous_id, customer_id, sku

MIX = (("page", 0.35), ("viewed", 0.40), ("searched", 0.10), ("added", 0.12), ("identify", 0.03))
ACTIVE = 500


@dataclass
class Visit:
    customer: int
    logged_in: bool
    left: int


@dataclass(frozen=True, slots=True)
class Message:
    """One Segment message; ``probe`` is the unique SKU of a ``Product Added`` (else None)."""

    body: dict[str, Any]
    probe: str | None
    identifier: str


class Messages:
    """Deterministic Segment messages over ``customers`` customers."""

    def __init__(self, customers: int = 100_000, skus: int = 5_000, seed: int = 3) -> None:
        self.rng = random.Random(seed)
        self.customers, self.skus = customers, skus
        self.visits: list[Visit] = []
        self.count = 0

    def __iter__(self) -> Iterator[Message]:
        while True:
            yield self.next()

    def take(self, n: int) -> list[Message]:
        return [self.next() for _ in range(n)]

    def visit(self) -> Visit:
        if len(self.visits) < ACTIVE:
            self.visits.append(self._new())
        pick = self.rng.randrange(len(self.visits))
        visit = self.visits[pick]
        visit.left -= 1
        if visit.left <= 0:
            self.visits[pick] = self._new()
        return visit

    def _new(self) -> Visit:
        length = max(1, int(self.rng.expovariate(1 / SESSION_EVENTS)))
        who = self.rng.randrange(self.customers)
        return Visit(who, self.rng.random() >= ANONYMOUS_SHARE, length)

    def next(self) -> Message:
        self.count += 1
        kind = self.rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
        visit = self.visit()
        body: dict[str, Any] = {
            "messageId": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "anonymousId": anonymous_id(visit.customer),
        }
        if visit.logged_in:
            body["userId"] = customer_id(visit.customer)
        identifier = body.get("userId") or body["anonymousId"]
        code = sku(self.rng.randrange(self.skus))
        probe = None
        if kind == "page":
            path = f"/p/{code.lower()}"
            props: dict[str, Any] = {
                "url": f"https://shop.example.com{path}",
                "path": path,
                "title": code,
            }
            body.update(type="page", name="Product", properties=props)
        elif kind == "viewed":
            props = {"sku": code, "name": "Trail Runner 2", "price": 89.9, "currency": "EUR"}
            body.update(type="track", event="Product Viewed", properties=props)
        elif kind == "searched":
            body.update(type="track", event="Products Searched", properties={"query": "shoes"})
        elif kind == "added":
            probe = f"SKU-L{self.count:09d}"
            props = {"sku": probe, "price": 49.5, "quantity": 1, "currency": "EUR"}
            body.update(type="track", event="Product Added", properties=props)
        else:
            body.update(type="identify", userId=customer_id(visit.customer))
            body["traits"] = {"first_name": "Alex"}
            visit.logged_in = True
        return Message(body, probe, identifier)
