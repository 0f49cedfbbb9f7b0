"""Segment's Ecommerce spec v2 ``track`` events to the contract's cart, order and view events.

| Segment event (v1 name too) | record(s) |
|---|---|
| Products Searched | ``ProductsSearched`` (``query``; ``result_count`` if sent) |
| Product Viewed | ``ProductViewed`` (``sku``, else ``product_id``; price in minor units) |
| Product Added | ``CartItemAdded`` (``quantity`` defaults to 1) |
| Product Removed | ``CartItemRemoved`` |
| Order Completed | ``OrderPlaced`` (products -> lines) and ``CartCheckedOut`` |
| Order Refunded | ``OrderReturned`` (products -> returned lines, may be none) |
| Order Cancelled | ``OrderCancelled`` |
| Cart Viewed, Checkout Started, Product Clicked, Coupon Applied, ... | ``InteractionTracked`` |

The contract has no record for looking at a cart or starting a checkout, so
those stay ``InteractionTracked`` with their name and properties: kept, and a
candidate for a record of their own. Amounts become minor units of the event's
``currency`` (the collector's default when it names none). ``checkout_id`` or
``order_id`` becomes the envelope's ``correlation_id``, tying a checkout to its order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.collector.fields import (
    FieldError,
    array,
    currency,
    ident,
    join,
    minor_units,
    number,
    positive_integer,
    required_ident,
    text,
)
from connectors.collector.fields import integer as whole
from connectors.collector.origin import Origin
from connectors.core.events import Outgoing, derived_event_id

FULFILMENTS = ("ship", "pickup_in_store", "ship_from_store", "unknown")
Spec = Callable[[dict[str, Any], str, dict[str, Any], Origin], list[Outgoing]]


def _sku(props: dict[str, Any], path: str) -> str:
    """The spec's ``sku``, else its ``product_id``: our contract keys products by SKU."""
    sku = ident(props, "sku", path) or ident(props, "product_id", path)
    if sku is None:
        raise FieldError(join(path, "product_id"), "is required (or sku)")
    return sku


def _correlate(env: dict[str, Any], props: dict[str, Any], path: str) -> dict[str, Any]:
    correlation = ident(props, "checkout_id", path) or ident(props, "order_id", path)
    return {**env, "correlation_id": correlation} if correlation else env


def searched(props: dict[str, Any], path: str, env: dict[str, Any], _o: Origin) -> list[Outgoing]:
    query = text(props, "query", path)
    if query is None:
        raise FieldError(join(path, "query"), "is required")
    count = props.get("result_count")
    value = {
        "envelope": env,
        "query": query,
        "result_count": None if count is None else whole(props, "result_count", path, 0),
    }
    return [Outgoing("omni.customer.ProductsSearched", value)]


def viewed(props: dict[str, Any], path: str, env: dict[str, Any], origin: Origin) -> list[Outgoing]:
    code = currency(props, "currency", path, origin.default_currency)
    price = number(props, "price", path)
    value = {
        "envelope": env,
        "sku": _sku(props, path),
        "product_name": text(props, "name", path),
        "category": text(props, "category", path),
        "price_minor": None if price is None else minor_units(price, code),
        "currency": code,
    }
    return [Outgoing("omni.customer.ProductViewed", value)]


def added(props: dict[str, Any], path: str, env: dict[str, Any], origin: Origin) -> list[Outgoing]:
    code = currency(props, "currency", path, origin.default_currency)
    price = number(props, "price", path)
    value = {
        "envelope": env,
        "cart_id": ident(props, "cart_id", path),
        "sku": _sku(props, path),
        "quantity": positive_integer(props, "quantity", path, 1),
        "unit_price_minor": None if price is None else minor_units(price, code),
        "currency": code,
    }
    return [Outgoing("omni.cart.CartItemAdded", value)]


def removed(props: dict[str, Any], path: str, env: dict[str, Any], _o: Origin) -> list[Outgoing]:
    value = {"envelope": env, "cart_id": ident(props, "cart_id", path), "sku": _sku(props, path)}
    return [Outgoing("omni.cart.CartItemRemoved", value)]


def _lines(props: dict[str, Any], path: str, code: str) -> list[dict[str, Any]]:
    lines = []
    for index, product in enumerate(array(props, "products", path)):
        where = f"{join(path, 'products')}[{index}]"
        if not isinstance(product, dict):
            raise FieldError(where, "must be an object")
        price = number(product, "price", where)
        if price is None:
            raise FieldError(join(where, "price"), "is required")
        lines.append(
            {
                "line_id": ident(product, "line_id", where) or str(index + 1),
                "sku": _sku(product, where),
                "quantity": positive_integer(product, "quantity", where, 1),
                "unit_price_minor": minor_units(price, code),
            }
        )
    return lines


def completed(
    props: dict[str, Any], path: str, env: dict[str, Any], origin: Origin
) -> list[Outgoing]:
    env = _correlate(env, props, path)
    order_id = required_ident(props, "order_id", path)
    code = currency(props, "currency", path, origin.default_currency)
    lines = _lines(props, path, code)
    total = number(props, "total", path)
    if total is None:
        total = number(props, "revenue", path)
    fulfilment = text(props, "fulfilment", path) or "ship"
    if fulfilment not in FULFILMENTS:
        raise FieldError(join(path, "fulfilment"), f"must be one of {', '.join(FULFILMENTS)}")
    order = {
        "envelope": env,
        "order_id": order_id,
        "lines": lines,
        "fulfilment": fulfilment,
        "location_id": ident(props, "location_id", path) or ident(props, "store_id", path),
        "currency": code,
        "total_minor": (
            sum(line["quantity"] * line["unit_price_minor"] for line in lines)
            if total is None
            else minor_units(total, code)
        ),
    }
    checkout_env = {
        **env,
        "event_id": derived_event_id(env["event_id"], "omni.cart.CartCheckedOut"),
    }
    checkout = {
        "envelope": checkout_env,
        "cart_id": ident(props, "cart_id", path),
        "order_id": order_id,
    }
    return [
        Outgoing("omni.order.OrderPlaced", order),
        Outgoing("omni.cart.CartCheckedOut", checkout),
    ]


def refunded(
    props: dict[str, Any], path: str, env: dict[str, Any], origin: Origin
) -> list[Outgoing]:
    env = _correlate(env, props, path)
    code = currency(props, "currency", path, origin.default_currency)
    value = {
        "envelope": env,
        "order_id": required_ident(props, "order_id", path),
        "lines": _lines(props, path, code),
        "location_id": ident(props, "location_id", path) or origin.returns_location_id,
        "reason": text(props, "reason", path),
    }
    return [Outgoing("omni.order.OrderReturned", value)]


def cancelled(props: dict[str, Any], path: str, env: dict[str, Any], _o: Origin) -> list[Outgoing]:
    env = _correlate(env, props, path)
    value = {
        "envelope": env,
        "order_id": required_ident(props, "order_id", path),
        "reason": text(props, "reason", path),
    }
    return [Outgoing("omni.order.OrderCancelled", value)]


SPECS: dict[str, Spec] = {
    "Products Searched": searched,
    "Product Viewed": viewed,
    "Product Added": added,
    "Product Removed": removed,
    "Order Completed": completed,
    "Order Refunded": refunded,
    "Order Cancelled": cancelled,
}
# Ecommerce spec v1 names, still sent by older integrations.
V1_NAMES = {
    "Searched Products": "Products Searched",
    "Viewed Product": "Product Viewed",
    "Added Product": "Product Added",
    "Removed Product": "Product Removed",
    "Completed Order": "Order Completed",
    "Refunded Order": "Order Refunded",
    "Cancelled Order": "Order Cancelled",
}


def mapper_for(event: str) -> Spec | None:
    """The spec mapping of a ``track`` event name, or ``None`` for a generic interaction."""
    return SPECS.get(V1_NAMES.get(event, event))
