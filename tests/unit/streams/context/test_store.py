"""A run cut short between two keys' writes, then applied again, counts nothing twice.

A ``kill -9`` can land while the profile stage writes a run's state, after
some keys and before the others and before the offset watermark. The run is
then applied again from the source. Each key must come out as if the run had
been applied once: a key already written finds its events among its applied
ids and skips them. That holds only if a key's cart and its applied ids are
one value, written at once (row 1 of the fault suite found carts counted
twice when they were a table of their own, written before the profiles).

The processor here has a dict for its table; its rules and write path are
the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from streams.batching import RawRecord
from streams.carts import rules as cart_rules
from streams.context import tables
from streams.context.agents import Batch, ProfileProcessor
from tests.unit.streams.helpers import event


class Crash(Exception):
    """The process ending between two writes."""


class CrashingTable(dict[bytes, bytes]):
    """A table whose writes stop after ``writes`` of them, as a killed process's would."""

    def __init__(self, writes: int) -> None:
        super().__init__()
        self.writes = writes

    def __setitem__(self, key: bytes, value: bytes) -> None:
        if self.writes <= 0:
            raise Crash(key)
        self.writes -= 1
        super().__setitem__(key, value)


@dataclass
class Prices:
    def as_of(self, _: int) -> Any:
        return cart_rules.NO_PRICES


class Changelog:
    """Writes go straight to the table (the crash is the table's)."""

    def write(self, table: dict[bytes, bytes], key: bytes, value: bytes) -> None:
        table[key] = value


@dataclass
class Runtime:
    prices: Prices
    changelog: Changelog


def processor(table: dict[bytes, bytes]) -> ProfileProcessor:
    made = object.__new__(ProfileProcessor)
    made.runtime = Runtime(Prices(), Changelog())  # type: ignore[assignment]
    made.table = table  # type: ignore[assignment]
    return made


RUN = [
    ("c1", event("cart.CartItemAdded", t=1, sku="SKU-1", quantity=2)),
    ("c2", event("cart.CartItemAdded", t=2, sku="SKU-2", quantity=3)),
    ("c1", event("cart.CartItemAdded", t=3, sku="SKU-1", quantity=1)),
]


def apply(profiles: ProfileProcessor) -> None:
    batch = Batch()
    for offset, (key, value) in enumerate(RUN):
        record = RawRecord("by-canonical", 0, offset, key.encode(), b"", 0)
        outcome = profiles.event(batch, key, "customer", "CartItemAdded", value, record)
        assert not outcome.startswith("invalid"), outcome
    profiles.store(batch)


def quantities(table: dict[bytes, bytes], key: str) -> dict[str, int]:
    cart = tables.decode(table[key.encode()]).cart
    assert cart is not None
    return {sku: line.quantity for sku, line in cart.lines.items()}


def test_a_cart_is_stored_with_the_event_ids_applied_to_it() -> None:
    table: dict[bytes, bytes] = {}
    apply(processor(table))
    assert set(table) == {b"c1", b"c2"}
    state = tables.decode(table[b"c1"])
    assert state.cart is not None
    assert state.cart.version == 2
    assert {str(e["envelope"]["event_id"]) for k, e in RUN if k == "c1"} <= set(state.seen.ids)


@pytest.mark.parametrize("writes", [0, 1])
def test_a_run_cut_between_keys_and_applied_again_counts_each_line_once(writes: int) -> None:
    table = CrashingTable(writes)
    with pytest.raises(Crash):
        apply(processor(table))
    survived = dict(table)
    apply(processor(survived))
    assert quantities(survived, "c1") == {"SKU-1": 3}
    assert quantities(survived, "c2") == {"SKU-2": 3}
    versions = {key: tables.decode(survived[key.encode()]).cart.version for key in ("c1", "c2")}  # type: ignore[union-attr]
    assert versions == {"c1": 2, "c2": 1}
