"""Stock per SKU and location: available to promise, reservations (pure rules)."""

from streams.stock.model import Level, Stock, from_state_dict, to_state_dict, to_view, total
from streams.stock.rules import (
    LinesRejected,
    LinesReserved,
    Moved,
    Oversold,
    Reserved,
    apply,
    count,
    move,
    pick_up,
    release,
    reserve,
    reserve_lines,
    return_to,
    run_command,
    sell,
)

__all__ = [
    "Level",
    "LinesRejected",
    "LinesReserved",
    "Moved",
    "Oversold",
    "Reserved",
    "Stock",
    "apply",
    "count",
    "from_state_dict",
    "move",
    "pick_up",
    "release",
    "reserve",
    "reserve_lines",
    "return_to",
    "run_command",
    "sell",
    "to_state_dict",
    "to_view",
    "total",
]
