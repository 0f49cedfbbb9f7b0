"""Identity graph: resolution, survivor choice, merge and unmerge."""

from __future__ import annotations

import pytest

from streams.common.outcome import Rejected
from streams.exceptions import UnsupportedEvent
from streams.identity import (
    Graph,
    Kind,
    Linked,
    MergeResult,
    Profile,
    UnmergeResult,
    apply,
    canonical_for,
    from_state_dict,
    link,
    merge,
    resolve,
    to_state_dict,
    to_view,
    unmerge,
)
from streams.identity.model import (
    merge_record_from_dict,
    merge_record_to_dict,
    profile_from_dict,
    profile_to_dict,
    unmerge_record_from_dict,
    unmerge_record_to_dict,
)
from streams.identity.rules import merge_id_for
from tests.unit.streams.helpers import assert_view, event, json_trip, ms


def _graph(*profiles: Profile) -> Graph:
    links = {k: p.canonical_id for p in profiles for k in p.keys}
    return Graph(links, {p.canonical_id: p for p in profiles})


def _linked(result: Linked | Rejected) -> Linked:
    assert isinstance(result, Linked), result
    return result


ANON = Profile("a1", frozenset({"anonymous:a1", "device:d1"}), created_at=100)
OLD_CUSTOMER = Profile("C1", frozenset({"customer:C1", "email:e1"}), created_at=50)
NEW_CUSTOMER = Profile("C2", frozenset({"customer:C2", "loyalty:L2"}), created_at=500)


def test_canonical_id_is_the_customer_id_else_the_most_stable_key() -> None:
    assert canonical_for(["device:d", "anonymous:a", "customer:C9"]) == "C9"
    assert canonical_for(["device:d", "anonymous:a"]) == "a"
    assert canonical_for(["device:d"]) == "d"


def test_unknown_keys_resolve_to_a_new_profile() -> None:
    res = resolve({}, ["anonymous:a9", "device:d9"], {})
    assert (res.kind, res.canonical_id, res.creates) == (Kind.NEW, "a9", True)


def test_known_key_resolves_to_the_existing_profile_and_lists_new_keys() -> None:
    g = _graph(ANON)
    res = resolve(g.links, ["anonymous:a1", "email:e9"], g.profiles)
    assert res.kind is Kind.EXISTING
    assert res.canonical_id == "a1"
    assert res.unlinked == ("email:e9",)


def test_link_attaches_new_keys_to_the_existing_profile() -> None:
    out = _linked(link(_graph(ANON), ["anonymous:a1", "email:e9"], ms(1), "ev1", "alias"))
    assert out.state.profiles["a1"].keys == ANON.keys | {"email:e9"}
    assert out.state.links["email:e9"] == "a1"
    assert out.merges == ()


def test_link_with_nothing_new_returns_the_same_graph() -> None:
    g = _graph(ANON)
    assert link(g, ["device:d1"], ms(1), "ev1", "alias").state is g


def test_customer_beats_anonymous_whatever_their_age() -> None:
    g = _graph(ANON, NEW_CUSTOMER)
    res = resolve(g.links, ["anonymous:a1", "loyalty:L2"], g.profiles)
    assert (res.kind, res.canonical_id, res.losers) == (Kind.MERGE, "C2", ("a1",))


@pytest.mark.parametrize(
    ("first", "second"), [(OLD_CUSTOMER, NEW_CUSTOMER), (NEW_CUSTOMER, OLD_CUSTOMER)]
)
def test_between_two_customers_the_older_survives(first: Profile, second: Profile) -> None:
    g = _graph(first, second)
    res = resolve(g.links, ["email:e1", "loyalty:L2"], g.profiles)
    assert res.canonical_id == "C1"
    assert res.losers == ("C2",)


def test_equal_age_goes_to_the_smallest_id() -> None:
    x = Profile("X", frozenset({"customer:X"}), 10)
    w = Profile("W", frozenset({"customer:W"}), 10)
    g = _graph(x, w)
    assert resolve(g.links, ["customer:X", "customer:W"], g.profiles).canonical_id == "W"


def test_anonymous_profile_learning_a_customer_id_is_promoted_by_a_merge() -> None:
    out = _linked(link(_graph(ANON), ["anonymous:a1", "customer:C7"], ms(2), "ev2", "login"))
    survivor = out.state.profiles["C7"]
    assert out.canonical_id == "C7"
    assert survivor.keys == ANON.keys | {"customer:C7"}
    assert out.state.profiles["a1"].merged_into == "C7"
    assert out.state.links["anonymous:a1"] == "C7"
    assert [r.loser_id for r in out.merges] == ["a1"]


def test_merge_moves_keys_tombstones_the_loser_and_audits() -> None:
    result = merge(OLD_CUSTOMER, NEW_CUSTOMER, "m1", ms(3), "loyalty_scan")
    assert isinstance(result, MergeResult)
    assert result.survivor.keys == OLD_CUSTOMER.keys | NEW_CUSTOMER.keys
    assert result.survivor.merges == ("m1",)
    assert result.loser.merged_into == "C1"
    assert result.loser.keys == frozenset()
    assert result.record.loser_keys == NEW_CUSTOMER.keys
    assert result.record.loser_created_at == 500


def test_merge_refuses_itself_and_tombstones() -> None:
    assert isinstance(merge(ANON, ANON, "m", 0, "x"), Rejected)
    gone = Profile("g", frozenset(), 1, merged_into="C1")
    assert merge(OLD_CUSTOMER, gone, "m", 0, "x") == Rejected("already_merged", "g or C1")


def test_unmerge_restores_the_loser_exactly() -> None:
    merged = merge(OLD_CUSTOMER, NEW_CUSTOMER, "m1", ms(3), "manual")
    assert isinstance(merged, MergeResult)
    undone = unmerge(merged.survivor, merged.record, ms(4), "agent-1", "wrong card")
    assert isinstance(undone, UnmergeResult)
    assert undone.survivor == OLD_CUSTOMER
    assert undone.restored == NEW_CUSTOMER
    assert undone.record.requested_by == "agent-1"
    assert undone.record.restored_keys == NEW_CUSTOMER.keys


def test_unmerge_of_an_unknown_or_already_undone_merge_is_rejected() -> None:
    merged = merge(OLD_CUSTOMER, NEW_CUSTOMER, "m1", ms(3), "manual")
    assert isinstance(merged, MergeResult)
    assert unmerge(OLD_CUSTOMER, merged.record, 0, "a") == Rejected("unknown_merge", "m1")
    assert unmerge(merged.survivor, None, 0, "a") == Rejected("unknown_merge", "")
    undone = unmerge(merged.survivor, merged.record, 0, "a")
    assert isinstance(undone, UnmergeResult)
    assert isinstance(unmerge(undone.survivor, merged.record, 0, "a"), Rejected)


def test_identity_events_link_merge_and_unmerge_end_to_end() -> None:
    g = _graph(OLD_CUSTOMER, NEW_CUSTOMER)
    linked = event(
        "customer.IdentifiersLinked",
        t=10,
        eid="00000000-0000-0000-0000-0000000000e1",
        ids={"email_sha256": "e1"},
        linked={"loyalty_id": "L2"},
        reason="loyalty_scan",
    )
    out = _linked(apply(g, "omni.customer.IdentifiersLinked", linked))
    (record,) = out.merges
    assert record.merge_id == merge_id_for("00000000-0000-0000-0000-0000000000e1", "C2")
    assert record.reason == "loyalty_scan"
    assert out.state.links["loyalty:L2"] == "C1"

    request = event(
        "customer.ProfilesUnmergeRequested", t=20, merge_id=record.merge_id, requested_by="agent-9"
    )
    back = _linked(apply(out.state, "ProfilesUnmergeRequested", request))
    assert back.canonical_id == "C2"
    assert back.state.links["loyalty:L2"] == "C2"
    assert back.state.profiles["C2"] == NEW_CUSTOMER
    assert back.unmerge is not None
    unknown = event("customer.ProfilesUnmergeRequested", merge_id="nope", requested_by="x")
    assert apply(back.state, "ProfilesUnmergeRequested", unknown) == Rejected(
        "unknown_merge", "nope"
    )


def test_customer_identified_creates_a_customer_profile() -> None:
    ev = event("customer.CustomerIdentified", t=1, ids={"anonymous_id": "a5"}, customer_id="C5")
    out = _linked(apply(Graph(), "CustomerIdentified", ev))
    assert out.canonical_id == "C5"
    assert out.state.profiles["C5"].keys == {"customer:C5", "anonymous:a5"}


def test_event_without_identifiers_is_rejected_and_others_are_unsupported() -> None:
    ev = event("customer.IdentifiersLinked", linked={})
    assert isinstance(apply(Graph(), "IdentifiersLinked", ev), Rejected)
    with pytest.raises(UnsupportedEvent):
        apply(Graph(), "PageViewed", event("customer.PageViewed"))


def test_nested_merges_unwind_from_the_outside_in() -> None:
    inner = merge(NEW_CUSTOMER, ANON, "inner", 1, "x")
    assert isinstance(inner, MergeResult)
    outer = merge(OLD_CUSTOMER, inner.survivor, "outer", 2, "x")
    assert isinstance(outer, MergeResult)
    assert unmerge(outer.loser, inner.record, 3, "a") == Rejected(
        "survivor_merged_away", "undo the merge into C1 first"
    )
    first = unmerge(outer.survivor, outer.record, 3, "a")
    assert isinstance(first, UnmergeResult)
    second = unmerge(first.restored, inner.record, 4, "a")
    assert isinstance(second, UnmergeResult)
    assert second.restored == ANON


def test_identifier_view_validates() -> None:
    assert_view(to_view(ANON), "omni.view.IdentifierSet")


def test_state_dicts_round_trip() -> None:
    out = _linked(link(_graph(ANON, OLD_CUSTOMER), ["device:d1", "email:e1"], 5, "e", "alias"))
    assert from_state_dict(json_trip(to_state_dict(out.state))) == out.state
    assert profile_from_dict(json_trip(profile_to_dict(ANON))) == ANON
    (rec,) = out.merges
    assert merge_record_from_dict(json_trip(merge_record_to_dict(rec))) == rec
    survivor = out.state.profiles["C1"]
    undone = unmerge(survivor, rec, 6, "a", None)
    assert isinstance(undone, UnmergeResult)
    assert (
        unmerge_record_from_dict(json_trip(unmerge_record_to_dict(undone.record))) == undone.record
    )
