"""Cart rules: quantities per SKU, prices, and carts following the shopper across devices.

Order rules, per the out-of-order rule of :mod:`streams.common.idempotency`:

* adds are commutative: a late add still adds its units;
* prices are last-writer-wins by when they were set (``price_at``);
* absolute changes (set quantity, remove, clear, check-out) only touch lines
  not changed after the event happened, so a late "remove" cannot delete
  units the shopper added later.

Quantities are never negative; removing a SKU that is not in the cart is a
no-op, so a replayed removal is harmless; adding zero units is rejected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from schemas.catalogue import CART_KEY
from schemas.exceptions import CatalogueError
from streams.carts.model import Cart, Line
from streams.common.events import Meta, meta, short_name, to_millis
from streams.common.outcome import Applied, Redirected, Rejected
from streams.exceptions import UnsupportedEvent

# sku -> (price_minor, currency, when the price was set)
Prices = Mapping[str, tuple[int, str, datetime | int]]
NO_PRICES: Prices = {}


Outcome = Applied[Cart] | Rejected | Redirected


def cart_key_of(event: Mapping[str, Any]) -> str | None:
    """The key of the cart an event is about (customer id, else anonymous id)."""
    try:
        return CART_KEY.key_of(event)
    except CatalogueError:
        return None


def apply(
    cart: Cart | None, record_name: str, event: Mapping[str, Any], prices: Prices = NO_PRICES
) -> Outcome:
    """Fold one cart event; ``prices`` is the price table as of the event (it wins over the
    event's own unit price, which is used only for SKUs the table does not price)."""
    if cart is None:
        key = cart_key_of(event)
        if key is None:
            return Rejected("no_cart_key")
        cart = Cart(key)
    if cart.merged_into is not None:
        return Redirected(cart.merged_into)
    m = meta(event)
    name = short_name(record_name)
    if "sku" in event and not str(event["sku"]).strip():
        return Rejected("blank_sku", f"{name} names no sku")
    if name == "CartItemAdded":
        return _add(cart, event, m, prices)
    if name == "CartItemQuantitySet":
        return _set(cart, event["sku"], event["quantity"], m, prices)
    if name == "CartItemRemoved":
        return _set(cart, event["sku"], 0, m, prices)
    if name == "CartCleared":
        return Applied(_empty(cart, m.at, "cleared", m.identifiers))
    if name == "CartCheckedOut":
        return Applied(_empty(cart, m.at, "checked_out", m.identifiers))
    raise UnsupportedEvent(f"cart rules do not fold {record_name}")


def _price_of(
    event: Mapping[str, Any], at: int, prices: Prices
) -> tuple[int | None, str, int | None]:
    known = prices.get(event["sku"])
    if known is not None:
        price, cur, price_at = known
        return price, cur, to_millis(price_at)
    if event.get("unit_price_minor") is not None:
        return event["unit_price_minor"], event.get("currency") or "EUR", at
    return None, event.get("currency") or "EUR", None


def _add(cart: Cart, event: Mapping[str, Any], m: Meta, prices: Prices) -> Outcome:
    quantity = event["quantity"]
    if quantity <= 0:
        return Rejected("non_positive_quantity", f"{event['sku']} x {quantity}")
    price, cur, price_at = _price_of(event, m.at, prices)
    new = Line(event["sku"], quantity, price, cur, m.at, price_at, m.at)
    held = cart.lines.get(new.sku)
    line = new if held is None else _combine(held, new)
    return Applied(_with_lines(cart, {**cart.lines, line.sku: line}, m.at, m.identifiers))


def _set(cart: Cart, sku: str, quantity: int, m: Meta, prices: Prices) -> Outcome:
    if quantity < 0:
        return Rejected("negative_quantity", f"{sku} x {quantity}")
    held = cart.lines.get(sku)
    if held is not None and held.changed_at > m.at:
        return Applied(cart)  # late: the line changed after this happened
    if quantity == 0:
        if held is None:
            return Applied(cart)
        lines = {k: v for k, v in cart.lines.items() if k != sku}
    elif held is None:
        price, cur, price_at = _price_of({"sku": sku}, m.at, prices)
        lines = {**cart.lines, sku: Line(sku, quantity, price, cur, m.at, price_at, m.at)}
    else:
        lines = {**cart.lines, sku: replace(held, quantity=quantity, changed_at=m.at)}
    return Applied(_with_lines(cart, lines, m.at, m.identifiers))


def _empty(cart: Cart, at: int, status: str, identifiers: Mapping[str, Any]) -> Cart:
    """Drop every line not changed after ``at``; the status holds only if nothing is left."""
    if not cart.lines and cart.status == status:
        return cart
    kept = {k: v for k, v in cart.lines.items() if v.changed_at > at}
    new = _with_lines(cart, kept, at, identifiers)
    return replace(new, status=status if not kept else "active")


def _with_lines(
    cart: Cart, lines: Mapping[str, Line], at: int, identifiers: Mapping[str, Any]
) -> Cart:
    return replace(
        cart,
        lines=lines,
        status="active",
        customer_id=cart.customer_id or identifiers.get("customer_id"),
        updated_at=max(cart.updated_at, at),
        version=cart.version + 1,
    )


def _price_key(line: Line) -> tuple[int, int, str]:
    """Newest price first; the price and currency break ties so merging stays associative."""
    price_at = -1 if line.price_at is None else line.price_at
    return price_at, -1 if line.unit_price_minor is None else line.unit_price_minor, line.currency


def _combine(a: Line, b: Line) -> Line:
    """Two lines of one SKU as one: quantities add, the newest price wins."""
    priced = max(a, b, key=_price_key)
    return Line(
        sku=a.sku,
        quantity=a.quantity + b.quantity,
        unit_price_minor=priced.unit_price_minor,
        currency=priced.currency,
        added_at=min(a.added_at, b.added_at),
        price_at=priced.price_at,
        changed_at=max(a.changed_at, b.changed_at),
    )


def merge_carts(target: Cart, source: Cart) -> Cart:
    """``target`` with ``source``'s lines added: quantities add, the newest price wins.

    The result is active whatever either cart's status was: merging happens
    when a visitor identifies, and what they just put in a cart is live.
    """
    lines = dict(target.lines)
    for sku, line in source.lines.items():
        held = lines.get(sku)
        lines[sku] = line if held is None else _combine(held, line)
    return replace(
        target,
        lines=lines,
        status="active",
        customer_id=target.customer_id or source.customer_id,
        updated_at=max(target.updated_at, source.updated_at),
        version=target.version + 1,
    )


def merged_away(source: Cart, into: str, at: int | None = None) -> Cart:
    """The source cart after a merge: empty, status merged, a redirect; its view is a tombstone."""
    when = source.updated_at if at is None else max(source.updated_at, at)
    return replace(
        source,
        lines={},
        status="merged",
        merged_into=into,
        updated_at=when,
        version=source.version + 1,
    )


def merge_into(survivor: Cart, loser: Cart) -> Cart:
    """Identity merge hook: the loser's cart joins the survivor's (see :func:`merge_carts`)."""
    return merge_carts(survivor, loser)


def order_placed(cart: Cart, order_lines: Iterable[Mapping[str, Any]], at: datetime | int) -> Cart:
    """Take what was ordered out of the cart; an emptied cart is checked out.

    Only the ordered quantities go, not the whole cart: a purchase in a store
    must not wipe an unrelated web cart of the same customer.
    """
    ordered: dict[str, int] = {}
    for row in order_lines:
        ordered[row["sku"]] = ordered.get(row["sku"], 0) + row["quantity"]
    if not any(sku in cart.lines for sku in ordered):
        return cart
    when = to_millis(at)
    lines: dict[str, Line] = {}
    for sku, line in cart.lines.items():
        left = line.quantity - ordered.get(sku, 0)
        if left > 0:
            lines[sku] = (
                line if sku not in ordered else replace(line, quantity=left, changed_at=when)
            )
    new = _with_lines(cart, lines, when, {})
    return new if lines else replace(new, status="checked_out")


def split(survivor: Cart, loser: Cart, at: int) -> Cart:
    """Undo a cart merge: the loser's quantities leave the survivor's lines (floored at 0).

    Quantities added during the merge stay; a line the loser brought and the
    survivor did not otherwise hold disappears.
    """
    lines = dict(survivor.lines)
    for sku, theirs in loser.lines.items():
        held = lines.get(sku)
        if held is None:
            continue
        left = held.quantity - theirs.quantity
        if left > 0:
            lines[sku] = replace(held, quantity=left, changed_at=max(held.changed_at, at))
        else:
            del lines[sku]
    if lines == dict(survivor.lines):
        return survivor
    return replace(
        survivor,
        lines=lines,
        updated_at=max(survivor.updated_at, at),
        version=survivor.version + 1,
    )


def reopened(cart: Cart, at: int) -> Cart:
    """A loser's cart given back by an unmerge: active again, no redirect."""
    return replace(
        cart,
        status="active",
        merged_into=None,
        updated_at=max(cart.updated_at, at),
        version=cart.version + 1,
    )


def validate(record_name: str, event: Mapping[str, Any]) -> Rejected | None:
    """Whether a cart event is malformed, judged on the event alone (no cart needed).

    The identity stage calls this before re-keying, so a malformed event is
    dead-lettered with its original topic, partition and offset; :func:`apply`
    refuses the same events again as a safety net.
    """
    name = short_name(record_name)
    if name not in ("CartItemAdded", "CartItemQuantitySet", "CartItemRemoved"):
        return None
    if not str(event.get("sku") or "").strip():
        return Rejected("blank_sku", f"{name} names no sku")
    quantity = event.get("quantity")
    if name == "CartItemAdded" and (quantity is None or quantity <= 0):
        return Rejected("non_positive_quantity", f"{event['sku']} x {quantity}")
    if name == "CartItemQuantitySet" and (quantity is None or quantity < 0):
        return Rejected("negative_quantity", f"{event['sku']} x {quantity}")
    return None
