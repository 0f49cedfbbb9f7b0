"""The order lifecycle across channels and the stock commands it implies (pure rules)."""

from streams.orders.model import (
    Order,
    OrderLine,
    StatusChange,
    from_state_dict,
    net_value,
    summary,
    to_state_dict,
    to_view,
)
from streams.orders.rules import (
    ALLOWED,
    CommandKind,
    OrderApplied,
    StockCommand,
    apply,
    can_enter,
    reassign,
    reject,
    transition,
)

__all__ = [
    "ALLOWED",
    "CommandKind",
    "Order",
    "OrderApplied",
    "OrderLine",
    "StatusChange",
    "StockCommand",
    "apply",
    "can_enter",
    "from_state_dict",
    "net_value",
    "reassign",
    "reject",
    "summary",
    "to_state_dict",
    "to_view",
    "transition",
]
