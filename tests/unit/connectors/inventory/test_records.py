"""ERP rows: movements, snapshot counts and prices, named errors and stable ids."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.core.exceptions import InvalidEvent
from connectors.core.fields import Fields
from connectors.inventory.records import count, kind_of_file, movement, price, snapshot_rows
from connectors.inventory.server import Context, json_rows, units_of_rows
from tests.unit.connectors.encodes import encodes

AT = "2025-03-01T06:00:00Z"


def test_a_snapshot_becomes_counted_movements_with_ids_of_the_stock_take() -> None:
    snapshot = {
        "snapshot_id": "SN-1",
        "location_id": "S1",
        "counted_at": AT,
        "items": [{"sku": "A", "quantity": 0}, {"sku": "B", "quantity": 12}],
    }
    out = [count(Fields(row, path), "erp") for row, path in snapshot_rows(snapshot, "")]
    assert [encodes(o) for o in out] == ["A", "B"]
    assert [(o.value["kind"], o.value["quantity"], o.value["location_id"]) for o in out] == [
        ("counted", 0, "S1"),
        ("counted", 12, "S1"),
    ]
    again = [count(Fields(row, path), "erp") for row, path in snapshot_rows(snapshot, "")]
    assert [o.value["envelope"]["event_id"] for o in out] == [
        o.value["envelope"]["event_id"] for o in again
    ]
    assert out[0].value["envelope"]["channel"] == "erp"


def test_snapshot_errors_name_the_item() -> None:
    bad = {"location_id": "S1", "counted_at": AT, "items": [{"sku": "A", "quantity": -1}]}
    [(row, path)] = json_rows("count", {"snapshots": [bad]})
    assert path == "snapshots[0].items[0]"
    expected = r"snapshots\[0\]\.items\[0\]\.quantity: a count must be zero or more"
    with pytest.raises(InvalidEvent, match=expected):
        Context("count", "erp", "EUR", 0).record(Fields(row, path))
    with pytest.raises(InvalidEvent, match="items: a snapshot needs at least one item"):
        snapshot_rows({"location_id": "S1", "items": []}, "")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"kind": "reserved"}, "kind: must be one of received, sold"),
        ({"kind": "transferred"}, "to_location_id: is required for a transfer"),
        ({"quantity": "-2"}, "quantity: must be a positive integer for received"),
        ({"kind": "adjusted", "quantity": "0"}, "an adjustment of 0"),
        ({"movement_id": ""}, "movement_id: is required"),
    ],
)
def test_movement_errors(row: dict[str, Any], message: str) -> None:
    base = {
        "movement_id": "M1",
        "sku": "A",
        "location_id": "S1",
        "kind": "received",
        "quantity": "5",
        "occurred_at": AT,
    }
    with pytest.raises(InvalidEvent, match=message):
        movement(Fields({**base, **row}, textual=True), "erp")


def test_an_adjustment_may_be_negative_and_a_transfer_names_its_destination() -> None:
    base = {"movement_id": "M1", "sku": "A", "location_id": "S1", "occurred_at": AT}
    adjusted = movement(Fields({**base, "kind": "adjusted", "quantity": -3}), "erp")
    moved = movement(
        Fields({**base, "kind": "transferred", "quantity": 2, "to_location_id": "S2"}), "erp"
    )
    assert (encodes(adjusted), adjusted.value["quantity"]) == ("A", -3)
    assert moved.value["to_location_id"] == "S2"


def test_prices_in_minor_units_with_ids_from_the_price_id_or_content() -> None:
    row = {"sku": "A", "price": "12.50", "list_price": "15", "valid_from": AT}
    first = price(Fields(row), "erp", "EUR", received_at=1)
    assert (encodes(first), first.value["price_minor"], first.value["list_price_minor"]) == (
        "A",
        1250,
        1500,
    )
    assert first.value["envelope"]["occurred_at"] == first.value["valid_from"]
    later = price(Fields({**row, "valid_from": None, "updated_at": AT}), "erp", "EUR", 2)
    assert later.value["envelope"]["event_id"] != first.value["envelope"]["event_id"]
    by_id = price(Fields({**row, "price_id": "P1"}), "erp", "EUR", 3)
    assert (
        by_id.value["envelope"]["event_id"]
        == price(Fields({**row, "price_id": "P1"}), "erp", "EUR", 4).value["envelope"]["event_id"]
    )


def test_csv_rows_are_judged_one_by_one() -> None:
    data = b"location_id,sku,quantity,counted_at\nS1,A,5," + AT.encode() + b"\nS1,B,x,\n"
    units, rejects = units_of_rows(Context("count", "erp", "EUR", 0), data, "csv")
    assert [u.events[0].value["sku"] for u in units] == ["A"]
    assert [(r.line, r.reason) for r in rejects] == [(3, "invalid_row")]


def test_a_files_kind_is_in_its_name() -> None:
    assert [
        kind_of_file(n)
        for n in ("movements-1.csv", "SNAPSHOT.csv", "counts.csv", "prices_2.csv", "stock.csv")
    ] == ["movement", "count", "count", "price", None]
