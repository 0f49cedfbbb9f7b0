"""The single customer view: interactions, consent, traits, erasure, orders, journey, merges."""

from __future__ import annotations

import random
from typing import Any

import pytest

from streams.common.events import wire_millis
from streams.common.idempotency import Seen, admit
from streams.common.outcome import Applied, Redirected, Rejected
from streams.context import (
    Context,
    apply,
    from_state_dict,
    journey_stage,
    lifetime_value,
    merge_into,
    order_count,
    redirect,
    to_state_dict,
    to_view,
    with_cart,
    with_case,
    with_identifiers,
    with_order,
)
from streams.context.model import MAX_INTERACTIONS
from tests.unit.streams.helpers import assert_view, at, encoded, event, json_trip, ms

IDS = {"customer_id": "C1"}


def _run(ctx: Context, *events: tuple[str, dict[str, Any]]) -> Context:
    for name, ev in events:
        out = apply(ctx, name, ev)
        assert isinstance(out, Applied), out
        ctx = out.state
    return ctx


def _view(
    t: float, sku: str = "SKU-1", channel: str = "web", **kw: Any
) -> tuple[str, dict[str, Any]]:
    return "omni.customer.ProductViewed", event(
        "customer.ProductViewed",
        t=t,
        channel=channel,
        ids=IDS,
        sku=sku,
        product_name="Trail Runner",
        **kw,
    )


def _page(t: float, channel: str = "web") -> tuple[str, dict[str, Any]]:
    return "PageViewed", event("customer.PageViewed", t=t, channel=channel, ids=IDS, title="Home")


def _consent(t: float, granted: bool, eid: str | None = None) -> tuple[str, dict[str, Any]]:
    return "ConsentChanged", event(
        "customer.ConsentChanged",
        t=t,
        eid=eid,
        ids=IDS,
        consent_channel="sms",
        purpose="marketing",
        granted=granted,
    )


def _order(
    order_id: str, status: str = "placed", total: int = 1000, t: float = 0
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "status": status,
        "fulfilment": "ship",
        "total_minor": total,
        "currency": "EUR",
        "placed_at": at(t),
        "location_id": None,
    }


def _case(case_id: str, status: str = "open", t: float = 0) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "subject": "Where is my order?",
        "status": status,
        "opened_at": at(t),
        "last_message": "Hi",
    }


def test_interactions_are_newest_first_summarised_and_capped() -> None:
    ctx = _run(Context("C1"), *[_page(t) for t in range(30)], _view(100))
    assert len(ctx.interactions) == MAX_INTERACTIONS
    assert ctx.interactions[0].summary == "viewed SKU-1 Trail Runner"
    assert ctx.interactions[0].type == "ProductViewed"
    assert [i.at for i in ctx.interactions] == sorted(
        (i.at for i in ctx.interactions), reverse=True
    )


def test_late_interaction_takes_its_place_in_time_and_last_channel_stays_newest() -> None:
    ctx = _run(Context("C1"), _page(10, "app"), _page(20, "store"), _page(15, "email"))
    assert [i.channel for i in ctx.interactions] == ["store", "email", "app"]
    assert ctx.last_channel.value == "store"


def test_case_message_summary_is_its_first_line() -> None:
    ev = event(
        "service.CaseMessage",
        ids=IDS,
        case_id="K",
        author="customer",
        medium="chat",
        body="My parcel\nis late",
    )
    ctx = _run(Context("C1"), ("CaseMessage", ev))
    assert ctx.interactions[0].summary == "My parcel"


def test_late_consent_does_not_overwrite_a_newer_one() -> None:
    ctx = _run(Context("C1"), _consent(20, False), _consent(10, True))
    assert ctx.consents["sms/marketing"].value is False
    newer = _run(ctx, _consent(30, True))
    assert newer.consents["sms/marketing"].value is True


def test_consent_tie_goes_to_the_greater_event_id() -> None:
    a, b = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"
    one = _run(Context("C1"), _consent(5, True, b), _consent(5, False, a))
    other = _run(Context("C1"), _consent(5, False, a), _consent(5, True, b))
    assert one.consents == other.consents
    assert one.consents["sms/marketing"].value is True


def test_unknown_purpose_grants_nothing() -> None:
    ev = event(
        "customer.ConsentChanged", ids=IDS, consent_channel="email", purpose="unknown", granted=True
    )
    assert _run(Context("C1"), ("ConsentChanged", ev)).consents["email/unknown"].value is False


def test_traits_are_last_writer_wins_per_trait() -> None:
    new = event(
        "customer.CustomerIdentified",
        t=20,
        ids=IDS,
        customer_id="C1",
        traits={"tier": "gold", "first_name": "Alex"},
    )
    old = event(
        "customer.CustomerIdentified",
        t=10,
        ids=IDS,
        customer_id="C1",
        traits={"tier": "silver", "city": "Berlin"},
    )
    ctx = _run(Context("C1"), ("CustomerIdentified", new), ("CustomerIdentified", old))
    assert {k: s.value for k, s in ctx.traits.items()} == {
        "tier": "gold",
        "first_name": "Alex",
        "city": "Berlin",
    }


def test_erasure_wipes_everything_but_the_id_and_refuses_later_events() -> None:
    ctx = _run(Context("C1"), _view(1), _consent(2, True))
    ctx = with_identifiers(ctx, {"customer:C1", "email:e1"}, ms(3))
    erased = _run(ctx, ("ErasureRequested", event("customer.ErasureRequested", t=4, ids=IDS)))
    assert erased.erased
    assert erased == Context(
        "C1", erased=True, updated_at=erased.updated_at, version=erased.version
    )
    assert apply(erased, *_view(5)) == Rejected("erased", "C1")
    view = to_view(erased)
    assert_view(view, "omni.view.CustomerContext")
    assert view["erased"] is True
    assert view["recent_interactions"] == []
    assert view["identifiers"]["email_sha256s"] == []


def test_orders_are_counted_once_and_value_is_net_of_returns() -> None:
    ctx = with_order(Context("C1"), _order("O1", total=1000), 1000, ms(1))
    ctx = with_order(ctx, _order("O1", "delivered", 1000), 1000, ms(2))
    ctx = with_order(ctx, _order("O1", "returned", 1000), 400, ms(3))
    ctx = with_order(ctx, _order("O2", "cancelled", 5000), 0, ms(4))
    assert order_count(ctx) == 1
    assert lifetime_value(ctx) == 400
    stale = with_order(ctx, _order("O1", "placed", 1000), 1000, ms(0))
    assert stale is ctx


def test_open_and_recent_orders_and_open_cases_in_the_view() -> None:
    ctx = with_order(Context("C1"), _order("O1", "shipped", t=1), 1000, ms(1))
    ctx = with_order(ctx, _order("O2", "delivered", t=2), 1000, ms(2))
    ctx = with_case(ctx, _case("K1", "awaiting_agent"), None, ms(3))
    ctx = with_case(ctx, _case("K2", "resolved"), 5, ms(4))
    view = to_view(ctx)
    assert_view(view, "omni.view.CustomerContext")
    assert [o["order_id"] for o in view["open_orders"]] == ["O1"]
    assert [o["order_id"] for o in view["recent_orders"]] == ["O2"]
    assert [c["case_id"] for c in view["open_cases"]] == ["K1"]


def test_the_view_topics_millis_encode_exactly_as_the_apis_datetimes() -> None:
    ctx = _run(Context("C1"), _page(0), _consent(1, True), _page(2, "app"))
    ctx = with_order(ctx, _order("O1", "shipped", t=3), 1000, ms(3))
    ctx = with_case(ctx, _case("K1", "awaiting_agent", t=4), None, ms(4))
    api, wire = to_view(ctx), to_view(ctx, wire_millis)
    assert encoded(wire, "omni.view.CustomerContext") == encoded(api, "omni.view.CustomerContext")
    times = [wire["updated_at"], wire["consents"][0]["updated_at"]]
    times += [i["occurred_at"] for i in wire["recent_interactions"]]
    times += [wire["open_orders"][0]["placed_at"], wire["open_cases"][0]["opened_at"]]
    assert all(type(t) is int for t in times)
    assert wire["recent_interactions"][0]["occurred_at"] == ms(2)
    assert api["recent_interactions"][0]["occurred_at"] == at(2)


def test_journey_stages() -> None:
    ctx = _run(Context("a1"), _page(0))
    assert journey_stage(ctx) == "awareness"
    ctx = _run(ctx, _view(1))
    assert journey_stage(ctx) == "consideration"
    assert (
        journey_stage(
            with_cart(Context("x"), {"item_count": 2, "total_minor": 1, "currency": "EUR"}, 0)
        )
        == "consideration"
    )
    ctx = with_order(ctx, _order("O1", "delivered", t=2), 1000, ms(2))
    assert journey_stage(ctx) == "purchase"
    with_service = with_case(ctx, _case("K1", "open", t=3), None, ms(3))
    assert journey_stage(with_service) == "retention"
    two = with_order(ctx, _order("O2", "delivered", t=4), 1000, ms(4))
    assert journey_stage(two) == "retention"
    happy = with_case(two, _case("K2", "resolved", t=5), 4, ms(5))
    assert journey_stage(happy) == "advocacy"
    unhappy = with_case(two, _case("K3", "resolved", t=5), 2, ms(5))
    assert journey_stage(unhappy) == "retention"


def test_one_order_and_a_happy_case_is_not_yet_advocacy() -> None:
    ctx = with_order(Context("C1"), _order("O1", "delivered", t=0), 1000, ms(0))
    ctx = with_case(ctx, _case("K1", "resolved", t=5), 5, ms(5))
    assert ctx.promoter
    assert journey_stage(ctx) == "retention"


def test_case_before_any_purchase_is_not_retention() -> None:
    ctx = with_case(Context("C1"), _case("K1", "open", t=0), None, ms(0))
    ctx = with_order(ctx, _order("O1", "placed", t=10), 1000, ms(10))
    assert journey_stage(ctx) == "purchase"


def test_merge_interleaves_history_and_counts_each_order_once() -> None:
    survivor = _run(Context("C1"), *[_page(t, "web") for t in range(0, 30, 2)], _consent(10, False))
    loser = _run(Context("a1"), *[_page(t, "app") for t in range(1, 31, 2)], _consent(20, True))
    survivor = with_order(survivor, _order("O1", "delivered"), 1000, ms(1))
    loser = with_order(loser, _order("O1", "delivered"), 1000, ms(1))
    loser = with_order(loser, _order("O2", "delivered"), 700, ms(2))
    loser = with_identifiers(loser, {"anonymous:a1"}, ms(2))
    merged = merge_into(survivor, loser)
    assert len(merged.interactions) == MAX_INTERACTIONS
    assert merged.interactions[0].at == ms(29)
    assert [i.channel for i in merged.interactions[:2]] == ["app", "web"]
    assert merged.consents["sms/marketing"].value is True
    assert order_count(merged) == 2
    assert lifetime_value(merged) == 1700
    assert "anonymous:a1" in merged.keys
    assert merged.version == survivor.version + 1


def test_merge_keeps_an_interaction_both_sides_hold_once() -> None:
    page = _page(1)
    merged = merge_into(_run(Context("C1"), page), _run(Context("a1"), page))
    assert len(merged.interactions) == 1


def test_merged_away_profile_redirects() -> None:
    loser = _run(Context("a1"), _view(1))
    gone = redirect(loser, "C1", ms(5))
    assert apply(gone, *_view(6)) == Redirected("C1")
    view = to_view(gone)
    assert_view(view, "omni.view.CustomerContext")
    assert view["merged_into"] == "C1"
    assert view["recent_interactions"] == []
    assert view["version"] == loser.version + 1


def test_duplicates_have_one_effect() -> None:
    page = _page(1)
    seen, ctx = Seen(), Context("C1")
    for item in (page, page, _view(2), page):
        verdict, seen = admit(seen, item[1]["envelope"])
        if verdict.applies:
            ctx = _run(ctx, item)
    assert len(ctx.interactions) == 2


def test_full_view_validates_with_every_part_filled() -> None:
    ctx = _run(Context("C1"), _view(1), _consent(2, True))
    ident = event(
        "customer.CustomerIdentified", t=3, ids=IDS, customer_id="C1", traits={"tier": "gold"}
    )
    ctx = _run(ctx, ("CustomerIdentified", ident))
    ctx = with_identifiers(ctx, {"customer:C1", "anonymous:a1", "email:e1"}, ms(3))
    ctx = with_cart(ctx, {"item_count": 2, "total_minor": 1998, "currency": "EUR"}, ms(4))
    ctx = with_order(ctx, _order("O1", "shipped"), 1000, ms(5))
    ctx = with_case(ctx, _case("K1", t=-10), None, ms(6))  # opened before the purchase
    view = to_view(ctx)
    assert_view(view, "omni.view.CustomerContext")
    assert view["traits"] == {"tier": "gold"}
    assert view["identifiers"]["anonymous_ids"] == ["a1"]
    assert view["consents"][0]["channel"] == "sms"
    assert view["journey_stage"] == "purchase"
    assert view["last_channel"] == "web"


def test_state_dict_round_trip() -> None:
    ctx = _run(Context("C1"), _view(1), _consent(2, True))
    ctx = with_identifiers(ctx, {"customer:C1", "device:d1"}, ms(3))
    ctx = with_cart(ctx, {"item_count": 1, "total_minor": 5, "currency": "EUR"}, ms(4))
    ctx = with_order(ctx, _order("O1"), 1000, ms(5))
    ctx = with_case(ctx, _case("K1", "resolved"), 5, ms(6))
    assert from_state_dict(json_trip(to_state_dict(ctx))) == ctx
    assert from_state_dict(json_trip(to_state_dict(Context("x")))) == Context("x")


def test_split_gives_the_loser_back_what_it_brought_and_keeps_the_rest() -> None:
    from streams.context.rules import restored, split

    survivor = _run(Context("C1"), _page(0, "web"), _consent(1, False))
    survivor = with_order(survivor, _order("O1", "delivered"), 1000, ms(1))
    loser = _run(Context("C2"), _page(2, "app"), _consent(3, True, eid="f" * 32))
    loser = with_order(loser, _order("O2", "delivered"), 700, ms(2))
    loser = with_identifiers(loser, {"customer:C2"}, ms(2))
    merged = merge_into(survivor, loser)
    merged = _run(merged, _page(5, "store"))  # after the merge: stays with the survivor

    kept = split(merged, loser, ms(6))
    assert [i.channel for i in kept.interactions] == ["store", "web"]
    assert order_count(kept) == 1
    assert lifetime_value(kept) == 1000
    assert "customer:C2" not in kept.keys
    assert "sms/marketing" not in kept.consents  # the loser's value had replaced ours
    assert kept.version == merged.version + 1

    back = restored(redirect(loser, "C1", ms(4)), loser, ms(6))
    assert back.merged_into == "C1"  # until the identity's unmerge lands
    assert [i.channel for i in back.interactions] == ["app"]
    assert order_count(back) == 1
    assert back.consents["sms/marketing"].value is True


@pytest.mark.parametrize("seed", range(20))
def test_adding_one_interaction_ranks_as_the_full_merge_does(seed: int) -> None:
    """The in-order fast path gives what ranking everything again gives, in any arrival order."""
    from streams.context.model import Interaction
    from streams.context.rules import _newest, _with_newest

    rng = random.Random(seed)
    ids = [f"e{n}" for n in range(40)]
    held: tuple[Interaction, ...] = ()
    for _ in range(60):
        at = rng.choice([rng.randint(0, 100), 100 + len(held) * 10])  # late ones and in-order ones
        item = Interaction("web", "PageViewed", at, "s", rng.choice(ids))
        assert _with_newest(held, item) == _newest(held, (item,))
        held = _newest(held, (item,))
