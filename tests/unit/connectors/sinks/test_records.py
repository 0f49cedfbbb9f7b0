"""Turning consumed records into changes, picking views, and which offsets may be committed."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.sinks.exceptions import MissingKey, SinkConfigError
from connectors.sinks.kafka_io import committable
from connectors.sinks.records import RawRecord, change_document, to_change
from connectors.sinks.views import VIEWS, by_physical, view_named, views_named
from schemas.catalogue import CART_VIEW, STOCK_TOTAL_VIEW
from schemas.codec import Decoded
from schemas.exceptions import DecodeError


class StubDecoder:
    """Stands in for FastDecoder: the codec has its own tests against the registry."""

    def __init__(self, record: str, value: dict[str, Any]) -> None:
        self.result = Decoded(7, record, value)

    def decode(self, data: bytes | None) -> Decoded:
        return self.result


def raw(
    offset: int, key: bytes | None = b"k", value: bytes | None = b"\x00", p: int = 0
) -> RawRecord:
    return RawRecord("x.omni.view.carts", p, offset, key, value, 1700000000000)


def test_a_record_becomes_an_upsert_and_a_null_value_a_delete() -> None:
    decoder = StubDecoder("omni.view.CartView", {"cart_key": "k"})
    upsert = to_change(raw(1), CART_VIEW, decoder)  # type: ignore[arg-type]
    assert (upsert.op, upsert.key, upsert.value) == ("upsert", "k", {"cart_key": "k"})
    delete = to_change(raw(2, value=None), CART_VIEW, decoder)  # type: ignore[arg-type]
    assert (delete.op, delete.value, delete.record) == ("delete", None, None)


def test_a_record_without_a_key_is_poison() -> None:
    decoder = StubDecoder("omni.view.CartView", {})
    with pytest.raises(MissingKey):
        to_change(raw(1, key=None), CART_VIEW, decoder)  # type: ignore[arg-type]


def test_a_record_of_another_view_is_poison() -> None:
    decoder = StubDecoder("omni.view.StockTotal", {})
    with pytest.raises(DecodeError, match="does not belong"):
        to_change(raw(1), CART_VIEW, decoder)  # type: ignore[arg-type]


def test_a_key_that_is_not_utf8_is_poison() -> None:
    decoder = StubDecoder("omni.view.CartView", {})
    with pytest.raises(DecodeError, match="utf-8"):
        to_change(raw(1, key=b"\xff\xfe"), CART_VIEW, decoder)  # type: ignore[arg-type]


def test_the_document_names_view_key_op_and_source() -> None:
    decoder = StubDecoder("omni.view.CartView", {"cart_key": "k"})
    document = change_document(to_change(raw(9), CART_VIEW, decoder))  # type: ignore[arg-type]
    assert document == {
        "view": "omni.view.carts",
        "key": "k",
        "op": "upsert",
        "record": "omni.view.CartView",
        "value": {"cart_key": "k"},
        "source": {
            "topic": "x.omni.view.carts",
            "partition": 0,
            "offset": 9,
            "timestamp_ms": 1700000000000,
        },
    }


def test_views_by_catalogue_or_short_name() -> None:
    assert view_named("carts") is CART_VIEW
    assert view_named("omni.view.stock-totals") is STOCK_TOTAL_VIEW
    assert views_named([]) == VIEWS
    assert views_named(["stock-totals", "carts", "carts"]) == (CART_VIEW, STOCK_TOTAL_VIEW)
    assert by_physical([CART_VIEW], "p.") == {"p.omni.view.carts": CART_VIEW}


def test_an_unknown_view_is_named_with_the_known_ones() -> None:
    with pytest.raises(SinkConfigError, match=r"unknown view 'cart'.*carts"):
        view_named("cart")


def test_commit_stops_at_the_first_record_not_done_in_each_partition() -> None:
    batch = [raw(10), raw(11), raw(12), raw(5, p=1), raw(6, p=1)]
    done = {("x.omni.view.carts", 0, 10), ("x.omni.view.carts", 0, 12)}
    done |= {("x.omni.view.carts", 1, 5), ("x.omni.view.carts", 1, 6)}
    offsets = {(tp.partition, tp.offset) for tp in committable(batch, done)}
    assert offsets == {(0, 11), (1, 7)}
