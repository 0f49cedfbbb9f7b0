"""The reservation saga's pure half: ids, ledger, compensations, records."""

from __future__ import annotations

from fastavro import parse_schema
from fastavro.validation import validate

from schemas.avro import load_schema_set
from streams.common import idempotency
from streams.orders import rules, saga, tables
from streams.orders.rules import CommandKind, StockCommand
from streams.stock.agents import refused_marker, reply
from tests.unit.streams.helpers import event, json_trip

ORDER = "ORD-1"


def assert_record(value: dict[str, object], name: str) -> None:
    """``value`` is a valid ``name`` record (ids stay text, so no lossless round trip)."""
    assert validate(value, parse_schema(load_schema_set().expanded(name)), raise_errors=True)


def cmd(kind: CommandKind, sku: str = "SKU-1", loc: str = "STORE-1", qty: int = 2) -> StockCommand:
    return StockCommand(sku, loc, kind, qty, ORDER)


def answer(sku: str = "SKU-1", loc: str = "STORE-1", qty: int = 2) -> dict[str, object]:
    return {"sku": sku, "location_id": loc, "quantity": qty}


def kinds(planned: saga.Planned) -> list[tuple[str, str, int]]:
    return [(m.kind, m.sku, m.quantity) for m in planned.movements]


def test_movement_ids_are_deterministic_and_differ_by_cause_kind_and_place() -> None:
    one = saga.movement_id(ORDER, "SKU-1", "STORE-1", "reserved", "e1")
    assert one == saga.movement_id(ORDER, "SKU-1", "STORE-1", "reserved", "e1")
    others = {
        saga.movement_id(ORDER, "SKU-1", "STORE-1", "reserved", "e2"),
        saga.movement_id(ORDER, "SKU-1", "STORE-1", "released", "e1"),
        saga.movement_id(ORDER, "SKU-1", "STORE-2", "reserved", "e1"),
        saga.movement_id("ORD-2", "SKU-1", "STORE-1", "reserved", "e1"),
    }
    assert one not in others
    assert len(others) == 4


def test_reserve_sends_a_reserved_movement_and_holds_pending() -> None:
    planned = saga.plan({}, [cmd(CommandKind.RESERVE)], "e1", 1000)
    assert kinds(planned) == [("reserved", "SKU-1", 2)]
    assert planned.holds["SKU-1@STORE-1"].status == saga.PENDING
    assert planned.movements[0].reference == ORDER
    record = saga.to_record(planned.movements[0])
    assert_record(record, "omni.inventory.StockMovement")
    assert record["movement_id"] == record["envelope"]["event_id"]


def test_replanning_the_same_event_gives_the_same_movements() -> None:
    first = saga.plan({}, [cmd(CommandKind.RESERVE)], "e1", 1000)
    again = saga.plan({}, [cmd(CommandKind.RESERVE)], "e1", 1000)
    assert first == again


def test_a_held_line_is_released_or_picked_up() -> None:
    held = saga.confirmed(
        saga.plan({}, [cmd(CommandKind.RESERVE)], "e1", 0).holds, ORDER, answer(), False, "r1", 0
    )
    assert held.movements == ()
    assert held.holds["SKU-1@STORE-1"].status == saga.HELD
    released = saga.plan(held.holds, [cmd(CommandKind.RELEASE)], "e2", 0)
    assert kinds(released) == [("released", "SKU-1", 2)]
    assert released.holds == {}
    picked = saga.plan(held.holds, [cmd(CommandKind.PICK_UP)], "e3", 0)
    assert kinds(picked) == [("released", "SKU-1", 2), ("sold", "SKU-1", 2)]


def test_a_release_asked_while_pending_waits_for_the_confirmation() -> None:
    pending = saga.plan({}, [cmd(CommandKind.RESERVE)], "e1", 0).holds
    parked = saga.plan(pending, [cmd(CommandKind.RELEASE)], "e2", 0)
    assert parked.movements == ()
    done = saga.confirmed(parked.holds, ORDER, answer(), False, "r1", 0)
    assert kinds(done) == [("released", "SKU-1", 2)]
    assert done.holds == {}


def test_a_refused_line_is_never_released() -> None:
    pending = saga.plan({}, [cmd(CommandKind.RESERVE)], "e1", 0).holds
    parked = saga.plan(pending, [cmd(CommandKind.RELEASE)], "e2", 0).holds
    refused = saga.refused(parked, answer())
    assert refused["SKU-1@STORE-1"].status == saga.REFUSED
    assert saga.plan(refused, [cmd(CommandKind.RELEASE)], "e3", 0).movements == ()
    assert saga.release_all(refused, ORDER, "e4", 0).movements == ()


def test_rejection_releases_held_lines_and_parks_pending_ones() -> None:
    holds = saga.plan(
        {}, [cmd(CommandKind.RESERVE, "A"), cmd(CommandKind.RESERVE, "B")], "e1", 0
    ).holds
    holds = saga.confirmed(holds, ORDER, answer("A"), False, "r1", 0).holds
    out = saga.release_all(holds, ORDER, "r2", 0)
    assert kinds(out) == [("released", "A", 2)]
    late = saga.confirmed(out.holds, ORDER, answer("B"), True, "r3", 0)
    assert kinds(late) == [("released", "B", 2)]
    assert late.holds == {}


def test_pick_up_with_nothing_held_is_a_plain_sale_and_returns_go_back() -> None:
    assert kinds(saga.plan({}, [cmd(CommandKind.PICK_UP)], "e1", 0)) == [("sold", "SKU-1", 2)]
    assert kinds(saga.plan({}, [cmd(CommandKind.RETURNED)], "e1", 0)) == [("returned", "SKU-1", 2)]


def test_holds_survive_the_table_round_trip() -> None:
    holds = saga.plan({}, [cmd(CommandKind.RESERVE)], "e1", 0).holds
    placed = event(
        "order.OrderPlaced",
        order_id=ORDER,
        fulfilment="pickup_in_store",
        location_id="STORE-1",
        lines=[{"line_id": "1", "sku": "SKU-1", "quantity": 2, "unit_price_minor": 100}],
        total_minor=200,
    )
    outcome = rules.apply(None, "OrderPlaced", placed)
    assert isinstance(outcome, rules.OrderApplied)
    _, seen = idempotency.admit(idempotency.Seen(), placed["envelope"])
    state = tables.OrderState(outcome.state, seen, holds)
    assert tables.decode(tables.encode(state)) == state
    assert saga.holds_from_list(json_trip({"h": saga.holds_to_list(holds)})["h"]) == holds


def test_stock_answers_are_valid_records_with_ids_derived_from_the_movement() -> None:
    movement = saga.to_record(saga.plan({}, [cmd(CommandKind.RESERVE)], "e1", 0).movements[0])
    name, confirmed = reply(movement, None)
    assert name == "omni.inventory.ReservationConfirmed"
    assert_record(confirmed, name)
    assert confirmed["order_id"] == ORDER
    assert reply(movement, None) == (name, confirmed)
    name, rejected = reply(movement, 1)
    assert name == "omni.inventory.ReservationRejected"
    assert_record(rejected, name)
    assert (rejected["available"], rejected["reason"]) == (1, "insufficient_stock")
    assert refused_marker("x") != "x"


def ids(planned: saga.Planned) -> list[tuple[str, str]]:
    return [(m.kind, m.event_id) for m in planned.movements]


def test_a_pick_up_has_the_same_ids_whether_it_came_before_or_after_the_confirmation() -> None:
    """Order events and stock replies are on different partitions: after a crash or a
    rebalance they can be applied again in the other order, and stock must see the same
    movement ids both times, or it counts the pick-up twice."""
    reserved = saga.plan({}, [cmd(CommandKind.RESERVE)], "placed", 1000).holds
    # The pick-up first (parked while pending), then the confirmation releases it.
    parked = saga.plan(reserved, [cmd(CommandKind.PICK_UP)], "picked-up", 2000)
    assert parked.movements == ()
    late = saga.confirmed(parked.holds, ORDER, answer(), False, "reply", 3000)
    # The confirmation first, then the pick-up is sent at once.
    held = saga.confirmed(reserved, ORDER, answer(), False, "reply", 3000)
    early = saga.plan(held.holds, [cmd(CommandKind.PICK_UP)], "picked-up", 2000)
    assert ids(late) == ids(early)
    assert [kind for kind, _ in ids(early)] == ["released", "sold"]


def test_a_release_parked_by_a_rejection_keeps_the_rejection_as_its_cause() -> None:
    reserved = saga.plan({}, [cmd(CommandKind.RESERVE)], "placed", 1000).holds
    parked = saga.release_all(reserved, ORDER, "rejected", 2000)
    late = saga.confirmed(parked.holds, ORDER, answer(), True, "reply", 3000)
    held = saga.confirmed(reserved, ORDER, answer(), False, "reply", 3000)
    early = saga.release_all(held.holds, ORDER, "rejected", 2000)
    assert ids(late) == ids(early)


def test_a_parked_action_survives_the_table() -> None:
    reserved = saga.plan({}, [cmd(CommandKind.RESERVE)], "placed", 1000).holds
    parked = saga.plan(reserved, [cmd(CommandKind.PICK_UP)], "picked-up", 2000).holds
    assert saga.holds_from_list(json_trip({"h": saga.holds_to_list(parked)})["h"]) == parked
    old_row = ["SKU-1", "STORE-1", 2, saga.PENDING, saga.PICK_UP]  # stored before then_cause
    assert saga.holds_from_list([old_row])["SKU-1@STORE-1"].then_cause is None
