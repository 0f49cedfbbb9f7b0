"""POS receipts to the contract's events: pure, so every rule is unit-tested without Kafka.

* ``sale``: ``OrderPlaced`` (fulfilment ``unknown``, location = the store),
  ``OrderPaid`` and ``OrderPickedUp``. The orders processor turns a pick-up
  with nothing reserved into ``sold`` movements at the store, so stock drops
  exactly once, and the order reaches the shopper's context as a customer fact.
* ``return`` with ``order_id``: ``OrderReturned`` (location = the store). The
  orders processor checks it against the order (never more than was bought)
  and sends ``returned`` movements where the goods came back.
* ``return`` without ``order_id``: a ``StockMovement`` ``returned`` per line:
  no order to return to, but the goods are back on the shelf.
* ``loyalty_scan`` with ``customer_id``: ``CustomerIdentified`` (the card's
  holder is known); otherwise ``IdentifiersLinked`` (reason ``loyalty_scan``)
  tying the card to any e-mail or phone hash on the receipt.
* ``pickup``: ``OrderPickedUp``, a click-and-collect order handed over.

A sale is ``unknown`` fulfilment, not ``pickup_in_store``: the goods already
left with the shopper, so no reservation is asked for that stock could refuse.
Every envelope carries the shopper's identifiers from the receipt (loyalty id,
customer id, e-mail and phone hashes): that is how a store sale reaches the
same customer as their web orders.

Event ids are uuid5 of ``receipt_id`` and the step (``R-1/placed``,
``R-1/3/returned``), so the same receipt sent twice (a file re-read after a
crash, an HTTP retry, a file and a request) yields the same ids and the
processors drop the copy; movement ids are ``receipt_id/line_id``.
"""

from __future__ import annotations

from typing import Any

from connectors.core.events import Outgoing, event_id_for
from connectors.pos.receipts import Receipt, ReceiptLine

ID_SOURCE = "pos"
CHANNEL = "store"
PLACED = "omni.order.OrderPlaced"
PAID = "omni.order.OrderPaid"
PICKED_UP = "omni.order.OrderPickedUp"
RETURNED = "omni.order.OrderReturned"
MOVEMENT = "omni.inventory.StockMovement"
IDENTIFIED = "omni.customer.CustomerIdentified"
LINKED = "omni.customer.IdentifiersLinked"
RECORDS = (PLACED, PAID, PICKED_UP, RETURNED, MOVEMENT, IDENTIFIED, LINKED)


def source_of(receipt: Receipt) -> str:
    """``envelope.source``: the store's till system, e.g. ``pos-STORE-007``."""
    return f"pos-{receipt.store_id}"


def envelope(receipt: Receipt, step: str) -> dict[str, Any]:
    return {
        "event_id": event_id_for(ID_SOURCE, f"{receipt.receipt_id}/{step}"),
        "occurred_at": receipt.occurred_at,
        "channel": CHANNEL,
        "source": source_of(receipt),
        "identifiers": dict(receipt.identifiers),
        "session_id": receipt.terminal_id and f"{receipt.store_id}/{receipt.terminal_id}",
        "correlation_id": receipt.receipt_id,
        "sequence": None,
    }


def _line(line: ReceiptLine) -> dict[str, Any]:
    return {
        "line_id": line.line_id,
        "sku": line.sku,
        "quantity": line.quantity,
        "unit_price_minor": line.unit_price_minor,
    }


def _sale(receipt: Receipt) -> list[Outgoing]:
    order_id = receipt.receipt_id
    total = receipt.total_minor
    if total is None:
        total = sum(line.quantity * line.unit_price_minor for line in receipt.lines)
    placed = {
        "envelope": envelope(receipt, "placed"),
        "order_id": order_id,
        "lines": [_line(line) for line in receipt.lines],
        "fulfilment": "unknown",
        "location_id": receipt.store_id,
        "currency": receipt.currency,
        "total_minor": total,
    }
    paid = {
        "envelope": envelope(receipt, "paid"),
        "order_id": order_id,
        "amount_minor": total,
        "currency": receipt.currency,
        "payment_method": receipt.payment_method,
    }
    return [Outgoing(PLACED, placed), Outgoing(PAID, paid), _picked_up(receipt, order_id)]


def _picked_up(receipt: Receipt, order_id: str) -> Outgoing:
    value = {
        "envelope": envelope(receipt, "picked_up"),
        "order_id": order_id,
        "location_id": receipt.store_id,
    }
    return Outgoing(PICKED_UP, value)


def _return(receipt: Receipt) -> list[Outgoing]:
    if receipt.order_id is None:
        return [_returned_movement(receipt, line) for line in receipt.lines]
    value = {
        "envelope": envelope(receipt, "returned"),
        "order_id": receipt.order_id,
        "lines": [_line(line) for line in receipt.lines],
        "location_id": receipt.store_id,
        "reason": receipt.reason,
    }
    return [Outgoing(RETURNED, value)]


def _returned_movement(receipt: Receipt, line: ReceiptLine) -> Outgoing:
    value = {
        "envelope": envelope(receipt, f"{line.line_id}/returned"),
        "movement_id": f"{receipt.receipt_id}/{line.line_id}",
        "sku": line.sku,
        "location_id": receipt.store_id,
        "kind": "returned",
        "quantity": line.quantity,
        "to_location_id": None,
        "reference": receipt.receipt_id,
    }
    return Outgoing(MOVEMENT, value)


def _loyalty_scan(receipt: Receipt) -> list[Outgoing]:
    env = envelope(receipt, "scan")
    ids = receipt.identifiers
    customer_id = ids["customer_id"]
    if customer_id:
        value = {"envelope": env, "customer_id": customer_id, "traits": {}}
        return [Outgoing(IDENTIFIED, value)]
    card_only = {key: (value if key == "loyalty_id" else None) for key, value in ids.items()}
    linked = {key: (None if key == "loyalty_id" else value) for key, value in ids.items()}
    value = {
        "envelope": {**env, "identifiers": card_only},
        "reason": "loyalty_scan",
        "linked": linked,
    }
    return [Outgoing(LINKED, value)]


def events_for(receipt: Receipt) -> list[Outgoing]:
    """Every record one receipt becomes, in the order they must be applied."""
    if receipt.kind == "sale":
        return _sale(receipt)
    if receipt.kind == "return":
        return _return(receipt)
    if receipt.kind == "loyalty_scan":
        return _loyalty_scan(receipt)
    return [_picked_up(receipt, receipt.order_id or "")]
