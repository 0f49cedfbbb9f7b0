"""Order lifecycle: transitions, history, stock commands and views."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from streams.common.idempotency import Seen, admit
from streams.common.outcome import Rejected
from streams.exceptions import UnsupportedEvent
from streams.orders import (
    ALLOWED,
    CommandKind,
    Order,
    OrderApplied,
    StockCommand,
    apply,
    can_enter,
    from_state_dict,
    net_value,
    reassign,
    reject,
    summary,
    to_state_dict,
    to_view,
)
from tests.unit.streams.helpers import assert_view, event, json_trip, ms

LINES = [
    {"line_id": "L1", "sku": "A", "quantity": 2, "unit_price_minor": 1000},
    {"line_id": "L2", "sku": "B", "quantity": 1, "unit_price_minor": 500},
]


def _placed(fulfilment: str = "pickup_in_store", location: str | None = "S1") -> dict[str, Any]:
    return event(
        "order.OrderPlaced",
        ids={"customer_id": "C1"},
        order_id="O1",
        lines=LINES,
        fulfilment=fulfilment,
        location_id=location,
        total_minor=2500,
        currency="EUR",
    )


def _ev(name: str, t: float, **fields: Any) -> dict[str, Any]:
    return event(f"order.{name}", t=t, channel="store", order_id="O1", **fields)


def _ok(out: OrderApplied | Rejected) -> OrderApplied:
    assert isinstance(out, OrderApplied), out
    return out


def _flow(*steps: tuple[str, dict[str, Any]], start: dict[str, Any] | None = None) -> OrderApplied:
    result = _ok(apply(None, "OrderPlaced", start or _placed()))
    for name, ev in steps:
        result = _ok(apply(result.state, name, ev))
    return result


def _cmd(sku: str, loc: str, kind: CommandKind, qty: int) -> StockCommand:
    return StockCommand(sku, loc, kind, qty, "O1")


def test_store_pickup_placement_reserves_at_the_store() -> None:
    out = _ok(apply(None, "omni.order.OrderPlaced", _placed()))
    assert out.state.status == "placed"
    assert out.state.customer_id == "C1"
    assert out.commands == (
        _cmd("A", "S1", CommandKind.RESERVE, 2),
        _cmd("B", "S1", CommandKind.RESERVE, 1),
    )


def test_warehouse_shipping_reserves_nothing_until_allocated() -> None:
    out = _ok(apply(None, "OrderPlaced", _placed("ship", None)))
    assert out.commands == ()
    allocated = _ok(apply(out.state, "OrderAllocated", _ev("OrderAllocated", 1, location_id="W1")))
    assert {c.kind for c in allocated.commands} == {CommandKind.RESERVE}
    assert allocated.state.reserved_at == "W1"


def test_reallocation_moves_the_reservation() -> None:
    placed = _ok(apply(None, "OrderPlaced", _placed("ship_from_store", "S1")))
    out = _ok(apply(placed.state, "OrderAllocated", _ev("OrderAllocated", 1, location_id="S2")))
    assert out.commands == (
        _cmd("A", "S1", CommandKind.RELEASE, 2),
        _cmd("B", "S1", CommandKind.RELEASE, 1),
        _cmd("A", "S2", CommandKind.RESERVE, 2),
        _cmd("B", "S2", CommandKind.RESERVE, 1),
    )
    same = _ok(apply(out.state, "OrderAllocated", _ev("OrderAllocated", 2, location_id="S2")))
    assert same.commands == ()


def test_pickup_flow_picks_up_the_reservation_and_records_history() -> None:
    out = _flow(
        ("OrderPaid", _ev("OrderPaid", 1, amount_minor=2500)),
        ("OrderReadyForPickup", _ev("OrderReadyForPickup", 2, location_id="S1")),
        ("OrderPickedUp", _ev("OrderPickedUp", 3, location_id="S1")),
    )
    assert out.state.status == "picked_up"
    assert out.commands == (
        _cmd("A", "S1", CommandKind.PICK_UP, 2),
        _cmd("B", "S1", CommandKind.PICK_UP, 1),
    )
    assert out.state.reserved == {}
    assert [(c.status, c.channel) for c in out.state.history] == [
        ("placed", "web"),
        ("paid", "store"),
        ("ready_for_pickup", "store"),
        ("picked_up", "store"),
    ]
    assert out.state.history[-1].at == ms(3)


def test_ship_from_store_shipping_picks_up() -> None:
    out = _flow(("OrderShipped", _ev("OrderShipped", 1)), start=_placed("ship_from_store", "S3"))
    assert {(c.location_id, c.kind) for c in out.commands} == {("S3", CommandKind.PICK_UP)}


def test_cancel_releases_only_what_is_still_reserved() -> None:
    out = _flow(("OrderCancelled", _ev("OrderCancelled", 1, reason="customer_request")))
    assert out.state.status == "cancelled"
    assert {c.kind for c in out.commands} == {CommandKind.RELEASE}
    assert out.state.history[-1].reason == "customer_request"
    shipped = _flow(("OrderShipped", _ev("OrderShipped", 1)), start=_placed("ship_from_store"))
    refused = apply(shipped.state, "OrderCancelled", _ev("OrderCancelled", 2))
    assert isinstance(refused, Rejected)


def test_return_puts_goods_back_where_returned_and_lowers_net_value() -> None:
    picked = _flow(("OrderPickedUp", _ev("OrderPickedUp", 1, location_id="S1")))
    back = [{"line_id": "L1", "sku": "A", "quantity": 1, "unit_price_minor": 1000}]
    out = _ok(
        apply(picked.state, "OrderReturned", _ev("OrderReturned", 2, lines=back, location_id="S9"))
    )
    assert out.commands == (_cmd("A", "S9", CommandKind.RETURNED, 1),)
    assert out.state.status == "returned"
    assert net_value(out.state) == 1500
    again = _ok(
        apply(out.state, "OrderReturned", _ev("OrderReturned", 3, lines=back, location_id="S9"))
    )
    assert net_value(again.state) == 500
    over = apply(
        again.state, "OrderReturned", _ev("OrderReturned", 4, lines=back, location_id="S9")
    )
    assert over == Rejected("over_return", "O1/L1")


def test_invalid_transition_is_rejected_and_leaves_the_state_alone() -> None:
    placed = _flow()
    before = placed.state
    out = apply(before, "OrderDelivered", _ev("OrderDelivered", 1))
    assert out == Rejected("invalid_transition", "O1: placed -> delivered")
    assert before.status == "placed"
    assert len(before.history) == 1


def test_fulfilment_decides_which_steps_exist() -> None:
    pickup = _flow()
    assert isinstance(apply(pickup.state, "OrderShipped", _ev("OrderShipped", 1)), Rejected)
    shipping = _flow(start=_placed("ship", None))
    ready = _ev("OrderReadyForPickup", 1, location_id="S1")
    assert isinstance(apply(shipping.state, "OrderReadyForPickup", ready), Rejected)


def test_terminal_states_allow_nothing() -> None:
    assert ALLOWED["cancelled"] == frozenset()
    assert ALLOWED["rejected"] == frozenset()
    cancelled = _flow(("OrderCancelled", _ev("OrderCancelled", 1)))
    for name in ("OrderAllocated", "OrderPickedUp", "OrderPaid"):
        fields = {"location_id": "S1"} if name != "OrderPaid" else {"amount_minor": 1}
        assert isinstance(apply(cancelled.state, name, _ev(name, 2, **fields)), Rejected)


def test_payment_after_allocation_is_recorded_without_a_status_change() -> None:
    out = _flow(
        ("OrderAllocated", _ev("OrderAllocated", 1, location_id="S1")),
        ("OrderPaid", _ev("OrderPaid", 2, amount_minor=2500)),
    )
    assert out.state.status == "allocated"
    assert out.state.paid_minor == 2500


def test_stock_refusal_rejects_the_order_without_releasing() -> None:
    placed = _flow()
    out = _ok(reject(placed.state, "insufficient_stock", ms(1), "web"))
    assert out.state.status == "rejected"
    assert out.commands == ()
    assert out.state.reserved == {}
    assert net_value(out.state) == 0
    assert isinstance(reject(out.state, "again", ms(2)), Rejected)


def test_events_before_placement_or_twice_placed_are_rejected() -> None:
    assert apply(None, "OrderPaid", _ev("OrderPaid", 0, amount_minor=1)) == Rejected(
        "unknown_order", "O1"
    )
    placed = _flow()
    assert isinstance(apply(placed.state, "OrderPlaced", _placed()), Rejected)
    with pytest.raises(UnsupportedEvent):
        apply(placed.state, "CartCleared", _ev("OrderPaid", 0, amount_minor=1))


def test_duplicates_have_one_effect() -> None:
    paid = _ev("OrderPaid", 1, amount_minor=100)
    seen, order = Seen(), None
    for name, ev in (("OrderPlaced", _placed()), ("OrderPaid", paid), ("OrderPaid", paid)):
        verdict, seen = admit(seen, ev["envelope"])
        if verdict.applies:
            order = _ok(apply(order, name, ev)).state
    assert isinstance(order, Order)
    assert order.paid_minor == 100


def test_views_validate() -> None:
    out = _flow(
        ("OrderPaid", _ev("OrderPaid", 1, amount_minor=2500)),
        ("OrderCancelled", _ev("OrderCancelled", 2, reason="customer_request")),
    )
    view = to_view(out.state)
    assert_view(view, "omni.view.OrderView")
    assert [h["status"] for h in view["history"]] == ["placed", "paid", "cancelled"]
    assert view["version"] == 3
    assert_view(summary(out.state), "omni.view.OrderSummary")


def test_state_dict_round_trip() -> None:
    back = [{"line_id": "L2", "sku": "B", "quantity": 1, "unit_price_minor": 500}]
    out = _flow(
        ("OrderPickedUp", _ev("OrderPickedUp", 1, location_id="S1")),
        ("OrderReturned", _ev("OrderReturned", 2, lines=back, location_id="S1", reason="size")),
    )
    assert from_state_dict(json_trip(to_state_dict(out.state))) == out.state
    placed = _flow()
    assert from_state_dict(json_trip(to_state_dict(placed.state))) == placed.state


def test_reassign_moves_the_order_to_the_surviving_customer() -> None:
    order = _flow().state
    moved = reassign(order, "C9", ms(5))
    assert (moved.customer_id, moved.version) == ("C9", order.version + 1)
    assert reassign(moved, "C9", ms(6)) is moved


# The documented state machine, written out independently of the implementation.
SPEC = {
    "placed": {
        "paid",
        "allocated",
        "ready_for_pickup",
        "picked_up",
        "shipped",
        "cancelled",
        "rejected",
    },
    "paid": {"allocated", "ready_for_pickup", "picked_up", "shipped", "cancelled", "rejected"},
    "allocated": {"allocated", "ready_for_pickup", "picked_up", "shipped", "cancelled", "rejected"},
    "ready_for_pickup": {"picked_up", "cancelled"},
    "picked_up": {"returned"},
    "shipped": {"delivered", "returned"},
    "delivered": {"returned"},
    "returned": {"returned"},
    "cancelled": set(),
    "rejected": set(),
}
STATUSES = sorted(SPEC)


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_transition_matrix_matches_the_documented_machine(current: str, target: str) -> None:
    order = replace(_flow(start=_placed("unknown", "S1")).state, status=current)
    assert can_enter(order, target) == (target in SPEC[current])
