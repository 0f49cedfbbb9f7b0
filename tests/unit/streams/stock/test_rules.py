"""Stock rules: reservations never oversell, floors, transfers, counts and order of events."""

from __future__ import annotations

import random
from typing import Any

import pytest

from streams.common.idempotency import Seen, admit
from streams.common.outcome import Rejected
from streams.exceptions import UnsupportedEvent
from streams.stock import (
    Level,
    LinesRejected,
    LinesReserved,
    Moved,
    Oversold,
    Reserved,
    Stock,
    apply,
    from_state_dict,
    pick_up,
    release,
    reserve,
    reserve_lines,
    return_to,
    run_command,
    sell,
    to_state_dict,
    to_view,
    total,
)
from tests.unit.streams.helpers import assert_view, event, json_trip, ms

SKU = "SKU-1"


def _mv(kind: str, qty: int, loc: str = "S1", t: float = 0, **kw: Any) -> dict[str, Any]:
    return event(
        "inventory.StockMovement", t=t, sku=SKU, location_id=loc, kind=kind, quantity=qty, **kw
    )


def _run(stock: Stock | None, *movements: dict[str, Any]) -> Stock:
    for ev in movements:
        out = apply(stock, "omni.inventory.StockMovement", ev)
        assert isinstance(out, Moved), out
        stock = out.state
    assert stock is not None
    return stock


def _reserved(out: Reserved | Rejected) -> Level:
    assert isinstance(out, Reserved), out
    return out.level


def test_received_creates_the_level() -> None:
    level = _run(None, _mv("received", 5)).levels["S1"]
    assert (level.on_hand, level.reserved, level.available) == (5, 0, 5)


def test_reserve_release_pick_up_and_return() -> None:
    level = Level(SKU, "S1", on_hand=5)
    level = _reserved(reserve(level, 3, "O1"))
    assert (level.reserved, level.available) == (3, 2)
    level = release(level, 1)
    assert level.reserved == 2
    level = pick_up(level, 2)
    assert (level.on_hand, level.reserved, level.available) == (3, 0, 3)
    level = return_to(level, 1)
    assert level.on_hand == 4


def test_release_never_drives_reserved_below_zero() -> None:
    assert release(Level(SKU, "S1", on_hand=5, reserved=1), 4).reserved == 0


def test_reserve_refuses_more_than_available() -> None:
    level = Level(SKU, "S1", on_hand=3, reserved=2)
    out = reserve(level, 2, "O1")
    assert isinstance(out, Rejected)
    assert out.reason == "insufficient_stock"
    assert isinstance(reserve(level, 0), Rejected)


def test_two_orders_competing_for_the_last_unit() -> None:
    level = Level(SKU, "S1", on_hand=1)
    first = reserve(level, 1, "O1")
    level = _reserved(first)
    second = reserve(level, 1, "O2")
    assert isinstance(second, Rejected)
    assert level.available == 0
    assert to_view(level)["available"] == 0


def test_sale_floors_on_hand_at_zero_and_reports_oversold() -> None:
    stock = _run(None, _mv("received", 2))
    out = apply(stock, "StockMovement", _mv("sold", 5, t=1))
    assert isinstance(out, Moved)
    assert out.state.levels["S1"].on_hand == 0
    assert out.notes == (Oversold(SKU, "S1", "sold", 3),)
    assert sell(Level(SKU, "S1", on_hand=1), 3).on_hand == 0


def test_sale_below_reservations_keeps_available_at_zero() -> None:
    level = _run(None, _mv("received", 2), _mv("reserved", 2), _mv("sold", 1)).levels["S1"]
    assert (level.on_hand, level.reserved, level.available) == (1, 2, 0)


def test_adjustment_is_a_signed_delta() -> None:
    level = _run(None, _mv("received", 5), _mv("adjusted", -2), _mv("adjusted", 4)).levels["S1"]
    assert level.on_hand == 7


def test_transfer_moves_units_between_two_locations() -> None:
    stock = _run(None, _mv("received", 5))
    out = apply(stock, "StockMovement", _mv("transferred", 3, to_location_id="S2"))
    assert isinstance(out, Moved)
    assert set(out.changed) == {"S1", "S2"}
    assert out.state.levels["S1"].on_hand == 2
    assert out.state.levels["S2"].on_hand == 3
    assert total(out.state.levels.values())["on_hand"] == 5
    same = apply(stock, "StockMovement", _mv("transferred", 1, to_location_id="S1"))
    assert isinstance(same, Rejected)


def test_count_sets_on_hand_and_absorbs_older_deltas() -> None:
    counted = _run(None, _mv("received", 10, t=0), _mv("counted", 7, t=10))
    assert counted.levels["S1"].on_hand == 7
    late_sale = _run(counted, _mv("sold", 2, t=5))  # happened before the count: already in it
    assert late_sale.levels["S1"].on_hand == 7
    later_sale = _run(counted, _mv("sold", 2, t=15))
    assert later_sale.levels["S1"].on_hand == 5
    stale_count = _run(later_sale, _mv("counted", 100, t=8))
    assert stale_count.levels["S1"].on_hand == 5


def test_counts_converge_whatever_the_arrival_order() -> None:
    events = [
        _mv("received", 10, t=0),
        _mv("sold", 3, t=5),
        _mv("counted", 6, t=10),
        _mv("received", 4, t=12),
        _mv("sold", 1, t=15),
    ]
    expected = 6 + 4 - 1
    rng = random.Random(7)
    for _ in range(20):
        rng.shuffle(events)
        assert _run(None, *events).levels["S1"].on_hand == expected


def test_a_count_arriving_after_later_deltas_keeps_them() -> None:
    stock = _run(None, _mv("received", 10, t=0), _mv("sold", 2, t=20), _mv("counted", 7, t=10))
    level = stock.levels["S1"]
    assert level.on_hand == 5
    assert level.counted_at == ms(10)


def test_late_delta_without_a_count_still_applies() -> None:
    seen, stock = Seen(), None
    for ev in (_mv("received", 5, t=10, seq=2), _mv("sold", 2, t=5, seq=1)):
        verdict, seen = admit(seen, ev["envelope"])
        assert verdict.applies
        stock = _run(stock, ev)
    assert stock is not None
    assert stock.levels["S1"].on_hand == 3


def test_duplicates_have_one_effect() -> None:
    once = _mv("received", 5)
    seen, stock = Seen(), None
    for ev in (once, once, _mv("sold", 1, t=1), once):
        verdict, seen = admit(seen, ev["envelope"])
        if verdict.applies:
            stock = _run(stock, ev)
    assert stock is not None
    assert stock.levels["S1"].on_hand == 4


def test_unknown_and_invalid_movements_are_rejected() -> None:
    assert apply(None, "StockMovement", _mv("unknown", 1)) == Rejected("unknown_kind", "unknown")
    assert isinstance(apply(None, "StockMovement", _mv("received", -1)), Rejected)
    assert isinstance(apply(None, "StockMovement", _mv("counted", -1)), Rejected)
    no_target = _mv("transferred", 1, to_location_id=None)
    assert apply(None, "StockMovement", no_target) == Rejected("bad_transfer", "S1 -> None")
    with pytest.raises(UnsupportedEvent):
        apply(None, "PriceUpdated", _mv("received", 1))


def test_reserve_lines_is_all_or_nothing() -> None:
    levels = {"A": Level("A", "S1", on_hand=2), "B": Level("B", "S1", on_hand=1)}
    ok = reserve_lines(levels, [{"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 1}], "S1")
    assert isinstance(ok, LinesReserved)
    assert ok.levels["A"].reserved == 2
    refused = reserve_lines(
        levels,
        [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 2}, {"sku": "C", "quantity": 1}],
        "S1",
        "O9",
    )
    assert isinstance(refused, LinesRejected)
    assert refused.rejected == (("B", 2, 1), ("C", 1, 0))
    assert levels["A"].reserved == 0  # nothing held


def test_run_command_speaks_the_order_vocabulary() -> None:
    stock = _run(None, _mv("received", 3))
    out = run_command(stock, "reserve", "S1", 2, "O1", ms(1))
    assert isinstance(out, Moved)
    out = run_command(out.state, "pick_up", "S1", 2, "O1", ms(2))
    assert isinstance(out, Moved)
    level = out.state.levels["S1"]
    assert (level.on_hand, level.reserved) == (1, 0)
    out = run_command(out.state, "returned", "S2", 1, "O1", ms(3))
    assert isinstance(out, Moved)
    assert out.state.levels["S2"].on_hand == 1


@pytest.mark.parametrize("seed", range(25))
def test_random_operations_never_go_negative(seed: int) -> None:
    rng = random.Random(seed)
    level = Level(SKU, "S1")
    for _ in range(300):
        op, qty = (
            rng.choice(["reserve", "release", "pick_up", "received", "sold"]),
            rng.randint(1, 6),
        )
        before = level.available
        if op == "reserve":
            out = reserve(level, qty)
            if isinstance(out, Rejected):
                assert before < qty
            else:
                level = out.level
        elif op == "release":
            level = release(level, qty)
        elif op == "pick_up":
            level = pick_up(level, qty)
        elif op == "received":
            level = return_to(level, qty)
        else:
            level = sell(level, qty)
        assert level.on_hand >= 0
        assert level.reserved >= 0
        assert 0 <= level.available <= level.on_hand


def test_views_validate_and_total_counts_locations_with_stock() -> None:
    stock = _run(None, _mv("received", 4), _mv("reserved", 4), _mv("received", 2, loc="S2"))
    for level in stock.levels.values():
        assert_view(to_view(level), "omni.view.StockLevel")
    view = total(stock.levels.values())
    assert_view(view, "omni.view.StockTotal")
    assert (view["on_hand"], view["reserved"], view["available"], view["locations"]) == (6, 4, 2, 1)
    assert view["version"] == sum(lv.version for lv in stock.levels.values())
    assert total([], sku="X")["sku"] == "X"


def test_state_dict_round_trip() -> None:
    stock = _run(None, _mv("received", 4), _mv("counted", 3, t=1), _mv("received", 2, loc="S2"))
    assert from_state_dict(json_trip(to_state_dict(stock))) == stock


def test_a_movement_naming_no_sku_or_location_is_invalid() -> None:
    assert apply(None, "StockMovement", {**_mv("received", 1), "sku": " "}) == Rejected(
        "blank_sku", "a movement with no sku"
    )
    blank = {**_mv("sold", 1), "location_id": ""}
    assert apply(None, "StockMovement", blank) == Rejected(
        "blank_location_id", "a movement with no location_id"
    )
