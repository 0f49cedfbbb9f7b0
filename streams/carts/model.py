"""The cart state, its table form and its views."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.common.events import Stamp, require, to_datetime

STATE_VERSION = 1
DEFAULT_CURRENCY = "EUR"


@dataclass(frozen=True, slots=True)
class Line:
    """One SKU in a cart.

    ``price_at`` is when the price was set (so the newest price wins on merge);
    ``changed_at`` is the last time the line was touched (so a late absolute
    change, a removal or a clear, cannot undo a newer add).
    """

    sku: str
    quantity: int
    unit_price_minor: int | None
    currency: str
    added_at: int
    price_at: int | None
    changed_at: int


@dataclass(frozen=True, slots=True)
class Cart:
    """A cart keyed by customer id, or anonymous id until the shopper is identified."""

    cart_key: str
    customer_id: str | None = None
    lines: Mapping[str, Line] = field(default_factory=dict)
    status: str = "active"
    merged_into: str | None = None
    updated_at: int = 0
    version: int = 0


def currency(cart: Cart) -> str:
    """The cart's currency: that of its first priced line (lines in others are not totalled)."""
    for line in cart.lines.values():
        if line.unit_price_minor is not None:
            return line.currency
    return DEFAULT_CURRENCY


def totals(cart: Cart) -> tuple[int, int, str]:
    """Units, value of the priced lines in the cart currency, and that currency."""
    cur = currency(cart)
    count = total = 0
    for line in cart.lines.values():
        count += line.quantity
        if line.unit_price_minor is not None and line.currency == cur:
            total += line.quantity * line.unit_price_minor
    return count, total, cur


def summary(cart: Cart | None) -> dict[str, Any] | None:
    """``omni.view.CartSummary`` for the customer context; None when there is no live cart."""
    if cart is None or cart.merged_into is not None:
        return None
    count, total, cur = totals(cart)
    return {"item_count": count, "total_minor": total, "currency": cur}


def to_view(cart: Cart, stamp: Stamp = to_datetime) -> dict[str, Any] | None:
    """``omni.view.CartView``; ``None`` for a merged cart, meaning: emit a tombstone.

    ``stamp`` writes the times (see :func:`streams.context.model.to_view`).
    """
    if cart.merged_into is not None:
        return None
    count, total, cur = totals(cart)
    return {
        "cart_key": cart.cart_key,
        "customer_id": cart.customer_id,
        "items": [_line_view(line, stamp) for line in cart.lines.values()],
        "item_count": count,
        "total_minor": total,
        "currency": cur,
        "status": cart.status,
        "merged_into": None,
        "updated_at": stamp(cart.updated_at),
        "version": cart.version,
    }


def _line_view(line: Line, stamp: Stamp) -> dict[str, Any]:
    return {
        "sku": line.sku,
        "quantity": line.quantity,
        "unit_price_minor": line.unit_price_minor,
        "currency": line.currency,
        "added_at": stamp(line.added_at),
    }


def to_state_dict(cart: Cart) -> dict[str, Any]:
    """JSON-safe form for the table; lines keep their insertion order."""
    return {
        "v": STATE_VERSION,
        "cart_key": cart.cart_key,
        "customer_id": cart.customer_id,
        "lines": [
            [
                ln.sku,
                ln.quantity,
                ln.unit_price_minor,
                ln.currency,
                ln.added_at,
                ln.price_at,
                ln.changed_at,
            ]
            for ln in cart.lines.values()
        ],
        "status": cart.status,
        "merged_into": cart.merged_into,
        "updated_at": cart.updated_at,
        "version": cart.version,
    }


def from_state_dict(data: Mapping[str, Any]) -> Cart:
    lines = [Line(*row) for row in require(data, "lines")]
    return Cart(
        cart_key=require(data, "cart_key"),
        customer_id=data.get("customer_id"),
        lines={line.sku: line for line in lines},
        status=require(data, "status"),
        merged_into=data.get("merged_into"),
        updated_at=require(data, "updated_at"),
        version=require(data, "version"),
    )
