"""The single customer view across channels (pure rules)."""

from streams.context.model import (
    Context,
    from_state_dict,
    journey_stage,
    lifetime_value,
    order_count,
    to_state_dict,
    to_view,
)
from streams.context.rules import (
    Outcome,
    apply,
    erase,
    merge_into,
    redirect,
    with_cart,
    with_case,
    with_identifiers,
    with_order,
)

__all__ = [
    "Context",
    "Outcome",
    "apply",
    "erase",
    "from_state_dict",
    "journey_stage",
    "lifetime_value",
    "merge_into",
    "order_count",
    "redirect",
    "to_state_dict",
    "to_view",
    "with_cart",
    "with_case",
    "with_identifiers",
    "with_order",
]
