"""Reading POS receipts from JSON objects or CSV rows: pure, each error naming its field.

One receipt is one JSON object (a file of them is JSON lines), or several CSV
rows that share a ``receipt_id``, one row per receipt line, the receipt's
fields repeated on each (``loyalty_scan`` and ``pickup`` have no lines, so
they are one row). The project README ("Store/POS connector") has
examples; the fields are:

``receipt_id`` (unique across the chain: it is the sale's order id and the
root of every event id), ``type`` (``sale``, ``return``, ``loyalty_scan``,
``pickup``), ``store_id``, ``occurred_at`` (ISO-8601), optional
``terminal_id``, ``currency``, ``payment_method``, ``total``/``total_minor``,
``order_id`` (the order a return or pickup is about), ``reason``, the
shopper's ``loyalty_id``, ``customer_id``, ``email``, ``phone`` (hashed here,
never published raw), and per line ``line_id``, ``sku``, ``quantity``,
``unit_price`` (decimal) or ``unit_price_minor``.

A CSV receipt stands or falls as a whole: if one of its rows is malformed,
every row of it is refused (the others saying which row spoiled it), because
a sale published without one of its lines could never be completed later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.core.events import sha256_email, sha256_phone
from connectors.core.exceptions import InvalidEvent
from connectors.core.fields import FieldError, Fields
from connectors.core.rows import Line, Reject, Row

KINDS = ("sale", "return", "loyalty_scan", "pickup")
WITH_LINES = frozenset({"sale", "return"})
LINE_FIELDS = ("line_id", "sku", "quantity", "unit_price", "unit_price_minor")


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    line_id: str
    sku: str
    quantity: int
    unit_price_minor: int


@dataclass(frozen=True, slots=True)
class Receipt:
    """One POS record, validated; identifiers already hashed as the contract wants."""

    receipt_id: str
    kind: str
    store_id: str
    occurred_at: int
    currency: str
    identifiers: dict[str, str | None]
    lines: tuple[ReceiptLine, ...] = ()
    terminal_id: str | None = None
    payment_method: str | None = None
    total_minor: int | None = None
    order_id: str | None = None
    reason: str | None = None


def identifiers(fields: Fields) -> dict[str, str | None]:
    """The shopper as the till knows them; raw e-mail and phone become hashes."""
    email = fields.text("email")
    phone = fields.ident("phone")
    return {
        "customer_id": fields.ident("customer_id"),
        "anonymous_id": None,
        "device_id": None,
        "email_sha256": sha256_email(email) if email else fields.text("email_sha256"),
        "phone_sha256": sha256_phone(phone) if phone else fields.text("phone_sha256"),
        "loyalty_id": fields.ident("loyalty_id"),
    }


def receipt_line(fields: Fields, currency: str, number: int) -> ReceiptLine:
    price = fields.amount_minor("unit_price_minor", "unit_price", currency)
    if price is None:
        raise fields.error("unit_price", "is required (or unit_price_minor)")
    if price < 0:
        raise fields.error("unit_price", "must not be negative")
    return ReceiptLine(
        line_id=fields.ident("line_id") or str(number),
        sku=fields.required_ident("sku"),
        quantity=fields.positive("quantity", 1),
        unit_price_minor=price,
    )


def receipt(fields: Fields, lines: list[Fields], default_currency: str) -> Receipt:
    """A receipt from its own fields and those of its lines; ``FieldError`` names a bad one."""
    kind = fields.choice("type", KINDS)
    currency = fields.currency("currency", default_currency)
    parsed = tuple(receipt_line(line, currency, i + 1) for i, line in enumerate(lines))
    _check_shape(fields, kind, parsed)
    ids = identifiers(fields)
    if kind == "loyalty_scan" and not ids["loyalty_id"]:
        raise fields.error("loyalty_id", "is required for a loyalty_scan")
    return Receipt(
        receipt_id=fields.required_ident("receipt_id"),
        kind=kind,
        store_id=fields.required_ident("store_id"),
        occurred_at=fields.required_instant("occurred_at"),
        currency=currency,
        identifiers=ids,
        lines=parsed,
        terminal_id=fields.ident("terminal_id"),
        payment_method=fields.text("payment_method"),
        total_minor=fields.amount_minor("total_minor", "total", currency),
        order_id=fields.ident("order_id"),
        reason=fields.text("reason"),
    )


def _check_shape(fields: Fields, kind: str, lines: tuple[ReceiptLine, ...]) -> None:
    if kind in WITH_LINES and not lines:
        raise fields.error("lines", f"a {kind} needs at least one line")
    if kind not in WITH_LINES and lines:
        raise fields.error("lines", f"a {kind} has no lines")
    if kind == "pickup" and not fields.ident("order_id"):
        raise fields.error("order_id", "is required for a pickup")
    ids = [line.line_id for line in lines]
    if len(set(ids)) != len(ids):
        raise fields.error("lines", "line_id values must be unique within a receipt")


def from_json(value: Any, path: str, default_currency: str) -> Receipt:
    """One receipt object as posted or as one JSON line."""
    if not isinstance(value, dict):
        raise FieldError(path or "(body)", "must be a JSON object")
    fields = Fields(value, path)
    lines = fields.array("lines")
    line_fields = []
    for index, line in enumerate(lines):
        where = f"{fields.where('lines')}[{index}]"
        if not isinstance(line, dict):
            raise FieldError(where, "must be an object")
        line_fields.append(Fields(line, where))
    return receipt(fields, line_fields, default_currency)


@dataclass
class _Group:
    rows: list[Row]


def from_csv_rows(
    rows: list[Row], default_currency: str
) -> tuple[list[tuple[Receipt, list[Line]]], list[Reject]]:
    """CSV rows grouped by ``receipt_id`` into receipts, with the rows they came from."""
    groups: dict[str, _Group] = {}
    rejects: list[Reject] = []
    for row in rows:
        receipt_id = row.values.get("receipt_id", "").strip()
        if not receipt_id:
            message = "receipt_id: is required"
            rejects.append(Reject(row.line.number, row.line.raw, "invalid_row", message))
            continue
        groups.setdefault(receipt_id, _Group([])).rows.append(row)
    receipts = []
    for receipt_id, group in groups.items():
        built = _csv_receipt(group, default_currency)
        if isinstance(built, Receipt):
            receipts.append((built, [row.line for row in group.rows]))
        else:
            rejects.extend(_refuse_group(receipt_id, group, built))
    return receipts, sorted(rejects, key=lambda r: r.line)


def _csv_receipt(group: _Group, default_currency: str) -> Receipt | tuple[Line, InvalidEvent]:
    first = group.rows[0]
    head = Fields(first.values, textual=True)
    for row in group.rows[1:]:
        for key in ("type", "store_id"):
            if row.values.get(key, "").strip() != first.values.get(key, "").strip():
                return row.line, FieldError(key, "differs from the receipt's first row")
    try:
        currency = head.currency("currency", default_currency)
    except InvalidEvent as exc:
        return first.line, exc
    line_rows = [row for row in group.rows if _has_line(row.values)]
    for index, row in enumerate(line_rows):
        try:
            receipt_line(Fields(row.values, textual=True), currency, index + 1)
        except InvalidEvent as exc:
            return row.line, exc
    try:
        lines = [Fields(row.values, textual=True) for row in line_rows]
        return receipt(head, lines, default_currency)
    except InvalidEvent as exc:
        return first.line, exc


def _has_line(values: dict[str, Any]) -> bool:
    return any(str(values.get(key, "")).strip() for key in LINE_FIELDS)


def _refuse_group(
    receipt_id: str, group: _Group, failure: tuple[Line, InvalidEvent]
) -> list[Reject]:
    bad_line, error = failure
    message = f"receipt {receipt_id} refused: line {bad_line.number} is invalid"
    return [
        Reject(row.line.number, row.line.raw, "invalid_row", str(error))
        if row.line == bad_line
        else Reject(row.line.number, row.line.raw, "receipt_refused", message)
        for row in group.rows
    ]
