"""The price book: per SKU, the prices in effect over time (pure, no Kafka).

A ``PriceUpdated`` takes effect at ``valid_from`` (or when it occurred). The
price of a cart line is the one in effect when the customer acted, so a
reprice announced for tomorrow does not change today's carts and a late price
event does not rewrite history. Two updates effective at the same instant:
the greater event id wins, as everywhere else (:func:`streams.common.idempotency.newer`).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.common.events import event_id_text, to_millis

HISTORY_BOUND = 8  # points kept per SKU: enough for announced future prices


@dataclass(frozen=True, slots=True, order=True)
class PricePoint:
    """One price of a SKU from ``effective_at`` (epoch ms) on."""

    effective_at: int
    event_id: str
    price_minor: int = field(compare=False)
    currency: str = field(compare=False)


def point_of(event: Mapping[str, Any]) -> PricePoint:
    """The price point a decoded ``PriceUpdated`` announces."""
    envelope = event["envelope"]
    start = event.get("valid_from") or envelope["occurred_at"]
    return PricePoint(
        to_millis(start),
        event_id_text(envelope["event_id"]),
        int(event["price_minor"]),
        event.get("currency") or "EUR",
    )


@dataclass
class PriceBook:
    """Mutable per-worker cache: SKU -> its price points, oldest first."""

    points: dict[str, list[PricePoint]] = field(default_factory=dict)

    def apply(self, sku: str, point: PricePoint) -> bool:
        """Record a price point; False when it was already known (a redelivery)."""
        held = self.points.setdefault(sku, [])
        if point in held:
            return False
        bisect.insort(held, point)
        del held[:-HISTORY_BOUND]
        return True

    def price_at(self, sku: str, at: int) -> PricePoint | None:
        """The price in effect at ``at``, or None when the SKU had none yet."""
        held = self.points.get(sku)
        if not held:
            return None
        effective = [point for point in held if point.effective_at <= at]
        return effective[-1] if effective else None

    def as_of(self, at: int) -> Mapping[str, tuple[int, str, int]]:
        """A read-only view for the cart rules: SKU -> (price, currency, effective_at) at ``at``."""
        return _AsOf(self, at)

    def __len__(self) -> int:
        return len(self.points)


class _AsOf(Mapping[str, tuple[int, str, int]]):
    def __init__(self, book: PriceBook, at: int) -> None:
        self._book, self._at = book, at

    def __getitem__(self, sku: str) -> tuple[int, str, int]:
        point = self._book.price_at(sku, self._at)
        if point is None:
            raise KeyError(sku)
        return point.price_minor, point.currency, point.effective_at

    def __iter__(self) -> Iterator[str]:
        return (sku for sku in self._book.points if sku in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)
