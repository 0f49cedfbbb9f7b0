"""The order state, its views and its table form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.common.events import require, to_datetime

STATE_VERSION = 1
FINISHED = frozenset({"picked_up", "delivered", "cancelled", "returned", "rejected"})
VOID = frozenset({"cancelled", "rejected"})


@dataclass(frozen=True, slots=True)
class OrderLine:
    line_id: str
    sku: str
    quantity: int
    unit_price_minor: int


@dataclass(frozen=True, slots=True)
class StatusChange:
    status: str
    at: int
    channel: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Order:
    """One order. ``reserved`` is what the order holds at ``reserved_at`` (SKU -> units)."""

    order_id: str
    customer_id: str | None
    status: str
    fulfilment: str
    location_id: str | None
    lines: tuple[OrderLine, ...]
    currency: str
    total_minor: int
    placed_at: int
    paid_minor: int = 0
    returned_minor: int = 0
    returned: Mapping[str, int] = field(default_factory=dict)
    reserved: Mapping[str, int] = field(default_factory=dict)
    reserved_at: str | None = None
    history: tuple[StatusChange, ...] = ()
    updated_at: int = 0
    version: int = 0


def net_value(order: Order) -> int:
    """What the order is worth to lifetime value: its total less returns; 0 if it never happened."""
    if order.status in VOID:
        return 0
    return max(order.total_minor - order.returned_minor, 0)


def summary(order: Order) -> dict[str, Any]:
    """``omni.view.OrderSummary``, for the customer context."""
    return {
        "order_id": order.order_id,
        "status": order.status,
        "fulfilment": order.fulfilment,
        "total_minor": order.total_minor,
        "currency": order.currency,
        "placed_at": to_datetime(order.placed_at),
        "location_id": order.location_id,
    }


def to_view(order: Order) -> dict[str, Any]:
    """``omni.view.OrderView``."""
    return {
        "order_id": order.order_id,
        "customer_id": order.customer_id,
        "status": order.status,
        "fulfilment": order.fulfilment,
        "location_id": order.location_id,
        "lines": [_line_dict(line) for line in order.lines],
        "currency": order.currency,
        "total_minor": order.total_minor,
        "placed_at": to_datetime(order.placed_at),
        "history": [
            {"status": c.status, "at": to_datetime(c.at), "channel": c.channel, "reason": c.reason}
            for c in order.history
        ],
        "updated_at": to_datetime(order.updated_at),
        "version": order.version,
    }


def _line_dict(line: OrderLine) -> dict[str, Any]:
    return {
        "line_id": line.line_id,
        "sku": line.sku,
        "quantity": line.quantity,
        "unit_price_minor": line.unit_price_minor,
    }


def to_state_dict(order: Order) -> dict[str, Any]:
    """JSON-safe form for the table."""
    return {
        "v": STATE_VERSION,
        "order_id": order.order_id,
        "customer_id": order.customer_id,
        "status": order.status,
        "fulfilment": order.fulfilment,
        "location_id": order.location_id,
        "lines": [_line_dict(line) for line in order.lines],
        "currency": order.currency,
        "total_minor": order.total_minor,
        "placed_at": order.placed_at,
        "paid_minor": order.paid_minor,
        "returned_minor": order.returned_minor,
        "returned": dict(order.returned),
        "reserved": dict(order.reserved),
        "reserved_at": order.reserved_at,
        "history": [[c.status, c.at, c.channel, c.reason] for c in order.history],
        "updated_at": order.updated_at,
        "version": order.version,
    }


def from_state_dict(data: Mapping[str, Any]) -> Order:
    return Order(
        order_id=require(data, "order_id"),
        customer_id=data.get("customer_id"),
        status=require(data, "status"),
        fulfilment=require(data, "fulfilment"),
        location_id=data.get("location_id"),
        lines=tuple(OrderLine(**line) for line in require(data, "lines")),
        currency=require(data, "currency"),
        total_minor=require(data, "total_minor"),
        placed_at=require(data, "placed_at"),
        paid_minor=require(data, "paid_minor"),
        returned_minor=require(data, "returned_minor"),
        returned=dict(require(data, "returned")),
        reserved=dict(require(data, "reserved")),
        reserved_at=data.get("reserved_at"),
        history=tuple(StatusChange(*row) for row in require(data, "history")),
        updated_at=require(data, "updated_at"),
        version=require(data, "version"),
    )
