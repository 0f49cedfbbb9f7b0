"""ERP rows to stock movements and prices: pure, each error naming its field.

Three kinds of record, the same fields in JSON and CSV (one row per record):

``movement`` -> ``StockMovement``
    ``movement_id``, ``sku``, ``location_id``, ``kind`` (``received``,
    ``sold``, ``returned``, ``adjusted``, ``transferred``, ``counted``),
    ``quantity`` (positive; a signed delta for ``adjusted``; the absolute
    count, zero or more, for ``counted``), ``occurred_at``; ``to_location_id``
    (required for ``transferred``), ``reference``. ``reserved`` and
    ``released`` are the order saga's and are refused here.
``count`` (a snapshot row) -> ``StockMovement`` of kind ``counted``
    ``location_id``, ``sku``, ``quantity`` (on hand, zero or more),
    ``counted_at``; ``snapshot_id`` (the ERP's id of the stock take). The
    stock processor takes a count as the new on-hand and re-applies only the
    deltas that happened after it, so stock converges on the ERP's numbers
    whatever arrived in between. A SKU the snapshot does not list is left as
    it is: a snapshot is a set of counts, not a wipe.
``price`` -> ``PriceUpdated`` on ``omni.pricing.prices``
    ``sku``, ``price`` (decimal) or ``price_minor``, ``currency``,
    ``list_price``/``list_price_minor``, ``valid_from``, ``updated_at``,
    ``price_id``.

Event ids: uuid5 of the movement id; for a count, of the snapshot
(``snapshot_id``, else ``counted_at``), location and SKU; for a price, of
``price_id`` (else its content and ``updated_at``). So a re-sent file or
request is dropped downstream as a duplicate.
A price with neither ``price_id`` nor ``updated_at`` takes the time it was
received as its time and its id: resending it is harmless (same value).
"""

from __future__ import annotations

from typing import Any

from connectors.core.events import Outgoing, event_id_for
from connectors.core.fields import FieldError, Fields

MOVEMENT = "omni.inventory.StockMovement"
PRICE = "omni.pricing.PriceUpdated"
RECORDS = (MOVEMENT, PRICE)
CHANNEL = "erp"
ERP_KINDS = ("received", "sold", "returned", "adjusted", "transferred", "counted")
KINDS = ("movement", "count", "price")
SHARED_SNAPSHOT_FIELDS = ("location_id", "counted_at", "snapshot_id")
EMPTY_IDS = {
    "customer_id": None,
    "anonymous_id": None,
    "device_id": None,
    "email_sha256": None,
    "phone_sha256": None,
    "loyalty_id": None,
}


def envelope(source: str, basis: str, at: int, correlation: str | None = None) -> dict[str, Any]:
    return {
        "event_id": event_id_for(source, basis),
        "occurred_at": at,
        "channel": CHANNEL,
        "source": source,
        "identifiers": dict(EMPTY_IDS),
        "session_id": None,
        "correlation_id": correlation,
        "sequence": None,
    }


def _quantity(row: Fields, kind: str) -> int:
    quantity = row.required_integer("quantity")
    if kind == "counted" and quantity < 0:
        raise row.error("quantity", "a count must be zero or more")
    if kind not in ("counted", "adjusted") and quantity <= 0:
        raise row.error("quantity", f"must be a positive integer for {kind}")
    if kind == "adjusted" and quantity == 0:
        raise row.error("quantity", "an adjustment of 0 changes nothing")
    return quantity


def movement(row: Fields, source: str) -> Outgoing:
    kind = row.choice("kind", ERP_KINDS)
    movement_id = row.required_ident("movement_id")
    to_location = row.ident("to_location_id")
    if kind == "transferred" and to_location is None:
        raise row.error("to_location_id", "is required for a transfer")
    reference = row.ident("reference")
    value = {
        "envelope": envelope(
            source, f"movement/{movement_id}", row.required_instant("occurred_at"), reference
        ),
        "movement_id": movement_id,
        "sku": row.required_ident("sku"),
        "location_id": row.required_ident("location_id"),
        "kind": kind,
        "quantity": _quantity(row, kind),
        "to_location_id": to_location,
        "reference": reference,
    }
    return Outgoing(MOVEMENT, value)


def count(row: Fields, source: str) -> Outgoing:
    """One snapshot row as a ``counted`` movement."""
    sku = row.required_ident("sku")
    location = row.required_ident("location_id")
    at = row.required_instant("counted_at")
    snapshot = row.ident("snapshot_id")
    movement_id = f"count/{snapshot or at}/{location}/{sku}"
    value = {
        "envelope": envelope(source, movement_id, at, snapshot),
        "movement_id": movement_id,
        "sku": sku,
        "location_id": location,
        "kind": "counted",
        "quantity": _quantity(row, "counted"),
        "to_location_id": None,
        "reference": snapshot,
    }
    return Outgoing(MOVEMENT, value)


def price(row: Fields, source: str, currency: str, received_at: int) -> Outgoing:
    sku = row.required_ident("sku")
    code = row.currency("currency", currency)
    amount = row.amount_minor("price_minor", "price", code)
    if amount is None:
        raise row.error("price", "is required (or price_minor)")
    if amount < 0:
        raise row.error("price", "must not be negative")
    listed = row.amount_minor("list_price_minor", "list_price", code)
    valid_from = row.instant("valid_from")
    updated_at = row.instant("updated_at")
    at = updated_at or valid_from or received_at
    basis = row.ident("price_id") or f"{sku}/{amount}/{code}/{listed}/{valid_from}/{at}"
    value = {
        "envelope": envelope(source, f"price/{basis}", at),
        "sku": sku,
        "price_minor": amount,
        "currency": code,
        "list_price_minor": listed,
        "valid_from": valid_from,
    }
    return Outgoing(PRICE, value)


def record(kind: str, row: Fields, source: str, currency: str, received_at: int) -> Outgoing:
    """One row of ``kind`` (``movement``, ``count`` or ``price``)."""
    if kind == "movement":
        return movement(row, source)
    if kind == "count":
        return count(row, source)
    return price(row, source, currency, received_at)


def snapshot_rows(snapshot: dict[str, Any], path: str) -> list[tuple[dict[str, Any], str]]:
    """A JSON snapshot (``location_id``, ``counted_at``, ``items``) as flat count rows."""
    head = Fields(snapshot, path)
    shared = {key: snapshot[key] for key in SHARED_SNAPSHOT_FIELDS if key in snapshot}
    rows = []
    for index, item in enumerate(head.array("items")):
        where = f"{head.where('items')}[{index}]"
        if not isinstance(item, dict):
            raise FieldError(where, "must be an object")
        rows.append(({**shared, **item}, where))
    if not rows:
        raise head.error("items", "a snapshot needs at least one item")
    return rows


def kind_of_file(name: str) -> str | None:
    """``movements*`` -> movement, ``snapshot*``/``counts*`` -> count, ``prices*`` -> price."""
    lowered = name.lower()
    if lowered.startswith("movements"):
        return "movement"
    if lowered.startswith(("snapshot", "counts")):
        return "count"
    if lowered.startswith("prices"):
        return "price"
    return None
