"""Reading POS receipts: JSON and CSV, every error naming its field and its line."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.core.events import sha256_email
from connectors.core.exceptions import InvalidEvent
from connectors.core.rows import parse
from connectors.pos.receipts import from_csv_rows, from_json

SALE: dict[str, Any] = {
    "receipt_id": "S7-T2-0001",
    "type": "sale",
    "store_id": "STORE-7",
    "occurred_at": "2025-03-01T10:00:00Z",
    "loyalty_id": "L-1",
    "email": " Alex@Example.com ",
    "lines": [
        {"line_id": "1", "sku": "SKU-1", "quantity": 2, "unit_price": "19.99"},
        {"sku": "SKU-2", "unit_price_minor": 500},
    ],
}
HEADER = "receipt_id,type,store_id,occurred_at,loyalty_id,line_id,sku,quantity,unit_price"


def test_a_json_sale_with_prices_in_minor_units_and_hashed_email() -> None:
    receipt = from_json(SALE, "", "EUR")
    assert receipt.kind == "sale"
    assert [(line.line_id, line.quantity, line.unit_price_minor) for line in receipt.lines] == [
        ("1", 2, 1999),
        ("2", 1, 500),
    ]
    assert receipt.identifiers["email_sha256"] == sha256_email("alex@example.com")
    assert receipt.occurred_at == 1_740_823_200_000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "refund"}, "type: must be one of sale, return, loyalty_scan, pickup"),
        ({"occurred_at": None}, "occurred_at: is required"),
        ({"lines": []}, "lines: a sale needs at least one line"),
        ({"lines": [{"sku": "A", "quantity": "2", "unit_price": 1}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "A", "quantity": 0, "unit_price": 1}]}, "must be a positive"),
        ({"lines": [{"sku": "A", "unit_price": "1.999"}]}, "more decimals than EUR"),
        ({"lines": [{"sku": "A"}]}, "lines[0].unit_price: is required"),
        ({"store_id": ""}, "store_id: is required"),
    ],
)
def test_a_bad_field_is_named(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidEvent, match=message.replace("[", r"\[").replace("]", r"\]")):
        from_json({**SALE, **change}, "", "EUR")


def test_a_loyalty_scan_needs_the_card_and_a_pickup_its_order() -> None:
    scan = {k: SALE[k] for k in ("receipt_id", "store_id", "occurred_at")}
    with pytest.raises(InvalidEvent, match="loyalty_id: is required for a loyalty_scan"):
        from_json({**scan, "type": "loyalty_scan"}, "", "EUR")
    with pytest.raises(InvalidEvent, match="order_id: is required for a pickup"):
        from_json({**scan, "type": "pickup"}, "", "EUR")


def test_csv_rows_group_into_receipts_and_a_bad_row_refuses_its_whole_receipt() -> None:
    data = "\n".join(
        [
            HEADER,
            "R1,sale,S1,2025-03-01T10:00:00Z,L-1,1,SKU-1,2,9.50",
            "R2,sale,S1,2025-03-01T10:01:00Z,,1,SKU-1,x,9.50",
            "R1,sale,S1,2025-03-01T10:00:00Z,L-1,2,SKU-2,1,1.00",
            "R2,sale,S1,2025-03-01T10:01:00Z,,2,SKU-3,1,3.00",
            ",sale,S1,2025-03-01T10:01:00Z,,2,SKU-3,1,3.00",
            "R3,loyalty_scan,S1,2025-03-01T10:02:00Z,L-9,,,,",
        ]
    ).encode()
    rows, malformed = parse(data, "csv")
    receipts, rejects = from_csv_rows(rows, "EUR")
    assert malformed == []
    assert [(r.receipt_id, [ln.number for ln in lines]) for r, lines in receipts] == [
        ("R1", [2, 4]),
        ("R3", [7]),
    ]
    assert [(r.line, r.reason) for r in rejects] == [
        (3, "invalid_row"),
        (5, "receipt_refused"),
        (6, "invalid_row"),
    ]
    assert "quantity: must be an integer" in rejects[0].message
    assert "line 3" in rejects[1].message
    assert rejects[0].raw == b"R2,sale,S1,2025-03-01T10:01:00Z,,1,SKU-1,x,9.50"


def test_csv_rows_of_one_receipt_must_agree_on_type_and_store() -> None:
    data = "\n".join(
        [
            HEADER,
            "R1,sale,S1,2025-03-01T10:00:00Z,,1,SKU-1,1,1",
            "R1,return,S1,2025-03-01T10:00:00Z,,2,SKU-2,1,1",
        ]
    ).encode()
    receipts, rejects = from_csv_rows(parse(data, "csv")[0], "EUR")
    assert receipts == []
    assert [(r.line, r.reason) for r in rejects] == [(2, "receipt_refused"), (3, "invalid_row")]
    assert "type: differs" in rejects[1].message
