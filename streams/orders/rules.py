"""The order lifecycle and the stock commands each step implies.

Allowed transitions (anything else is ``Rejected("invalid_transition")`` and
leaves the order as it was)::

    placed ─┬─ paid ─┬─ allocated ─┬─ ready_for_pickup ── picked_up ── returned*
            │        │             ├─ picked_up
            │        │             └─ shipped ── delivered ── returned*
            └────────┴─ (ready_for_pickup | picked_up | shipped, skipping steps)
    placed | paid | allocated | ready_for_pickup ── cancelled   (terminal)
    placed | paid | allocated ── rejected                      (terminal: stock refused)

``returned`` may repeat (partial returns), but never beyond the quantity
ordered; ``allocated`` may repeat (the order management system moves the
order to another location, and its reservation moves with it). Steps may be
skipped because channels report what they see (a store hands over an order
it never marked ready). Pickup steps need a ``pickup_in_store`` order and
``shipped`` needs a shipping one.

A payment is a fact, not a step: it moves ``placed`` to ``paid`` and is
otherwise recorded without a status change (pay on pickup, invoices after
delivery), except on a cancelled or rejected order.

Stock commands: a store-fulfilled order (pickup in store, ship from store)
reserves its lines at its store when placed; any order reserves where it is
allocated (moving an existing reservation there); pickup or shipping picks
the reservation up; cancellation releases what is still reserved; a return
puts the goods back where they were returned. When the stock processor
refuses a line, the agent calls :func:`reject`. Lines of different SKUs are
reserved on different partitions, so the order as a whole is all-or-nothing
through the saga in :mod:`streams.orders.saga`: the agent releases the lines
that were confirmed (``reject`` itself releases nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from streams.common.events import Meta, meta, short_name
from streams.common.outcome import Rejected
from streams.exceptions import UnsupportedEvent
from streams.orders.model import Order, OrderLine, StatusChange

ALLOWED: dict[str, frozenset[str]] = {
    "placed": frozenset(
        {"paid", "allocated", "ready_for_pickup", "picked_up", "shipped", "cancelled", "rejected"}
    ),
    "paid": frozenset(
        {"allocated", "ready_for_pickup", "picked_up", "shipped", "cancelled", "rejected"}
    ),
    "allocated": frozenset(
        {"allocated", "ready_for_pickup", "picked_up", "shipped", "cancelled", "rejected"}
    ),
    "ready_for_pickup": frozenset({"picked_up", "cancelled"}),
    "picked_up": frozenset({"returned"}),
    "shipped": frozenset({"delivered", "returned"}),
    "delivered": frozenset({"returned"}),
    "returned": frozenset({"returned"}),
    "cancelled": frozenset(),
    "rejected": frozenset(),
}
PICKUP_ONLY = frozenset({"ready_for_pickup", "picked_up"})
STORE_FULFILMENT = frozenset({"pickup_in_store", "ship_from_store"})
EVENT_STATUS = {
    "OrderAllocated": "allocated",
    "OrderReadyForPickup": "ready_for_pickup",
    "OrderPickedUp": "picked_up",
    "OrderShipped": "shipped",
    "OrderDelivered": "delivered",
    "OrderCancelled": "cancelled",
    "OrderReturned": "returned",
}


class CommandKind(StrEnum):
    RESERVE = "reserve"
    RELEASE = "release"
    PICK_UP = "pick_up"
    RETURNED = "returned"


@dataclass(frozen=True, slots=True)
class StockCommand:
    """What the stock processor must do for an order (``streams.stock.rules.run_command``)."""

    sku: str
    location_id: str
    kind: CommandKind
    quantity: int
    reference: str


@dataclass(frozen=True, slots=True)
class OrderApplied:
    state: Order
    commands: tuple[StockCommand, ...] = ()


def can_enter(order: Order, status: str) -> bool:
    """Whether the state machine allows ``order`` to move to ``status``."""
    if status not in ALLOWED.get(order.status, frozenset()):
        return False
    if status in PICKUP_ONLY:
        return order.fulfilment in ("pickup_in_store", "unknown")
    if status == "shipped":
        return order.fulfilment != "pickup_in_store"
    return True


def transition(
    order: Order, status: str, at: int, channel: str, reason: str | None = None
) -> Order | Rejected:
    """``order`` in ``status`` with the step in its history, or ``Rejected``."""
    if not can_enter(order, status):
        return Rejected("invalid_transition", f"{order.order_id}: {order.status} -> {status}")
    return replace(
        order,
        status=status,
        history=(*order.history, StatusChange(status, at, channel, reason)),
        updated_at=max(order.updated_at, at),
        version=order.version + 1,
    )


def _commands(
    kind: CommandKind, units: Mapping[str, int], location: str | None, reference: str
) -> tuple[StockCommand, ...]:
    if location is None:
        return ()
    return tuple(StockCommand(sku, location, kind, q, reference) for sku, q in units.items() if q)


def _units(lines: Iterable[OrderLine]) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in lines:
        out[line.sku] = out.get(line.sku, 0) + line.quantity
    return out


def place(event: Mapping[str, Any], m: Meta) -> OrderApplied:
    """A new order; a store-fulfilled one reserves its lines at its store."""
    lines = tuple(OrderLine(**line) for line in event["lines"])
    order = Order(
        order_id=event["order_id"],
        customer_id=m.identifiers.get("customer_id"),
        status="placed",
        fulfilment=event["fulfilment"],
        location_id=event.get("location_id"),
        lines=lines,
        currency=event.get("currency") or "EUR",
        total_minor=event["total_minor"],
        placed_at=m.at,
        history=(StatusChange("placed", m.at, m.channel),),
        updated_at=m.at,
        version=1,
    )
    if order.fulfilment not in STORE_FULFILMENT or order.location_id is None:
        return OrderApplied(order)
    units = _units(lines)
    held = replace(order, reserved=units, reserved_at=order.location_id)
    return OrderApplied(
        held, _commands(CommandKind.RESERVE, units, held.location_id, held.order_id)
    )


def reject(order: Order, reason: str, at: int, channel: str = "unknown") -> OrderApplied | Rejected:
    """Stock refused the order's reservation: it is rejected and holds nothing."""
    moved = transition(order, "rejected", at, channel, reason)
    if isinstance(moved, Rejected):
        return moved
    return OrderApplied(replace(moved, reserved={}, reserved_at=None))


def apply(
    order: Order | None, record_name: str, event: Mapping[str, Any]
) -> OrderApplied | Rejected:
    """Fold one event of ``omni.order.events``."""
    name = short_name(record_name)
    m = meta(event)
    if name == "OrderPlaced":
        return Rejected("already_placed", order.order_id) if order else place(event, m)
    if name != "OrderPaid" and name not in EVENT_STATUS:
        raise UnsupportedEvent(f"order rules do not fold {record_name}")
    if order is None:
        return Rejected("unknown_order", str(event.get("order_id")))
    if name == "OrderPaid":
        return _paid(order, event["amount_minor"], m)
    if name == "OrderReturned":
        return _returned(order, event, m)
    moved = transition(order, EVENT_STATUS[name], m.at, m.channel, event.get("reason"))
    if isinstance(moved, Rejected):
        return moved
    return _stock_effects(moved, name, event)


def _paid(order: Order, amount: int, m: Meta) -> OrderApplied | Rejected:
    if order.status == "placed":
        moved = transition(order, "paid", m.at, m.channel)
        if isinstance(moved, Rejected):
            return moved
    elif order.status in ("cancelled", "rejected"):
        return Rejected("invalid_transition", f"{order.order_id}: payment on {order.status}")
    else:
        moved = replace(order, updated_at=max(order.updated_at, m.at), version=order.version + 1)
    return OrderApplied(replace(moved, paid_minor=moved.paid_minor + amount))


def _stock_effects(order: Order, name: str, event: Mapping[str, Any]) -> OrderApplied:
    ref = order.order_id
    if name == "OrderAllocated":
        return _allocate(order, event["location_id"])
    if name == "OrderReadyForPickup":
        return OrderApplied(replace(order, location_id=order.location_id or event["location_id"]))
    if name in ("OrderPickedUp", "OrderShipped"):
        if order.reserved:
            cmds = _commands(CommandKind.PICK_UP, order.reserved, order.reserved_at, ref)
        else:
            where = event.get("location_id") or _store(order)
            cmds = _commands(CommandKind.PICK_UP, _units(order.lines), where, ref)
        return OrderApplied(replace(order, reserved={}, reserved_at=None), cmds)
    if name == "OrderCancelled":
        cmds = _commands(CommandKind.RELEASE, order.reserved, order.reserved_at, ref)
        return OrderApplied(replace(order, reserved={}, reserved_at=None), cmds)
    return OrderApplied(order)


def _store(order: Order) -> str | None:
    return order.location_id if order.fulfilment in STORE_FULFILMENT else None


def _allocate(order: Order, location: str) -> OrderApplied:
    """Reserve where the order is fulfilled, moving a reservation held elsewhere."""
    moved = replace(order, location_id=location)
    if order.reserved_at == location:
        return OrderApplied(moved)
    release = _commands(CommandKind.RELEASE, order.reserved, order.reserved_at, order.order_id)
    units = _units(order.lines)
    reserve = _commands(CommandKind.RESERVE, units, location, order.order_id)
    return OrderApplied(replace(moved, reserved=units, reserved_at=location), release + reserve)


def _returned(order: Order, event: Mapping[str, Any], m: Meta) -> OrderApplied | Rejected:
    ordered = {line.line_id: line.quantity for line in order.lines}
    returned = dict(order.returned)
    value = 0
    for line in event["lines"]:
        returned[line["line_id"]] = returned.get(line["line_id"], 0) + line["quantity"]
        value += line["quantity"] * line["unit_price_minor"]
        cap = ordered.get(line["line_id"])
        if cap is not None and returned[line["line_id"]] > cap:
            return Rejected("over_return", f"{order.order_id}/{line['line_id']}")
    moved = transition(order, "returned", m.at, m.channel, event.get("reason"))
    if isinstance(moved, Rejected):
        return moved
    units = _units(OrderLine(**line) for line in event["lines"])
    cmds = _commands(CommandKind.RETURNED, units, event["location_id"], order.order_id)
    return OrderApplied(
        replace(moved, returned=returned, returned_minor=moved.returned_minor + value), cmds
    )


def reassign(order: Order, customer_id: str, at: int) -> Order:
    """Identity merge hook: the order now belongs to the surviving customer id."""
    if order.customer_id == customer_id:
        return order
    return replace(
        order,
        customer_id=customer_id,
        updated_at=max(order.updated_at, at),
        version=order.version + 1,
    )
