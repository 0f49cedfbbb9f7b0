"""Rules of the single customer view.

Order of events
    Interactions are kept newest first by ``occurred_at`` (a late one takes its
    place in time, or falls off the end of the 20 kept). Traits, consents per
    channel and purpose, and the last channel are last-writer-wins by
    ``occurred_at``, ties to the greater event id; an older, late decision
    never overwrites a newer one. Order and case updates win by their time.

Journey stage (first rule that holds)
    advocacy       2+ orders and a resolved case rated CSAT >= 4
    retention      2+ orders, or a service case opened after a purchase
    purchase       1 order
    consideration  a product view, a search or a cart change, or a non-empty cart
    awareness      anything else (anonymous browsing)
    "Orders" are those not cancelled or rejected, each order id counted once.

Erasure
    wipes everything but the canonical id and marks the profile erased; every
    later event for it is rejected, so nothing about the person comes back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from streams.common.events import Meta, meta, short_name, to_millis
from streams.common.idempotency import Stamped, newer, put_lww
from streams.common.outcome import Applied, Redirected, Rejected
from streams.context.interactions import CONSIDERATION, summarise
from streams.context.model import (
    FINISHED_ORDER,
    MAX_INTERACTIONS,
    MAX_RECENT,
    VOID_ORDER,
    CaseEntry,
    Context,
    Interaction,
    Ledger,
    OrderEntry,
)

Outcome = Applied[Context] | Rejected | Redirected
E = TypeVar("E")
SILENT = frozenset({"ConsentChanged", "IdentifiersLinked", "ProfilesUnmergeRequested"})


def apply(ctx: Context, record_name: str, event: Mapping[str, Any]) -> Outcome:
    """Fold any event about this customer (interaction, identity, consent, cart, order, case)."""
    if ctx.merged_into is not None:
        return Redirected(ctx.merged_into)
    name = short_name(record_name)
    m = meta(event)
    if name == "ErasureRequested":
        return Applied(ctx if ctx.erased else erase(ctx, m.at))
    if ctx.erased:
        return Rejected("erased", ctx.customer_id)
    if name == "ConsentChanged":
        return Applied(_consent(ctx, event, m))
    if name in SILENT:
        return Applied(ctx)
    if name == "CustomerIdentified":
        ctx = _traits(ctx, event.get("traits") or {}, m)
    return Applied(_interaction(ctx, name, event, m))


def _bump(ctx: Context, at: int, **changes: Any) -> Context:
    return replace(ctx, updated_at=max(ctx.updated_at, at), version=ctx.version + 1, **changes)


def _consent(ctx: Context, event: Mapping[str, Any], m: Meta) -> Context:
    # A purpose this reader does not know grants nothing (ConsentPurpose's contract).
    granted = bool(event["granted"]) and event["purpose"] != "unknown"
    key = f"{event['consent_channel']}/{event['purpose']}"
    consents = put_lww(ctx.consents, key, granted, m.at, m.event_id)
    return ctx if consents is ctx.consents else _bump(ctx, m.at, consents=consents)


def _traits(ctx: Context, traits: Mapping[str, str], m: Meta) -> Context:
    held = ctx.traits
    for name, value in traits.items():
        held = put_lww(held, name, value, m.at, m.event_id)
    return ctx if held is ctx.traits else replace(ctx, traits=held)


def _interaction(ctx: Context, name: str, event: Mapping[str, Any], m: Meta) -> Context:
    item = Interaction(m.channel, name, m.at, summarise(name, event), m.event_id)
    last = ctx.last_channel
    if newer(m.at, m.event_id, last.at, last.event_id):
        last = Stamped(m.channel, m.at, m.event_id)
    return _bump(
        ctx,
        m.at,
        interactions=_with_newest(ctx.interactions, item),
        last_channel=last,
        considered=ctx.considered or name in CONSIDERATION,
    )


def _with_newest(held: tuple[Interaction, ...], item: Interaction) -> tuple[Interaction, ...]:
    """``_newest(held, (item,))``, without the sort when ``item`` is newer than all it holds.

    Events mostly arrive in time order, and ``held`` is already ranked (it
    only ever comes from :func:`_newest` or from here), so the new item
    usually just goes in front.
    """
    head = held[0] if held else None
    newest = head is None or (item.at, item.event_id) > (head.at, head.event_id)
    if newest and all(i.event_id != item.event_id for i in held):
        return (item, *held[: MAX_INTERACTIONS - 1])
    return _newest(held, (item,))


def _newest(*groups: Iterable[Interaction]) -> tuple[Interaction, ...]:
    """Interleave by time, newest first, one per event id, at most 20."""
    unique = {i.event_id: i for group in groups for i in group}
    ranked = sorted(unique.values(), key=lambda i: (i.at, i.event_id), reverse=True)
    return tuple(ranked[:MAX_INTERACTIONS])


def erase(ctx: Context, at: int) -> Context:
    """Forget the person: only the canonical id and the erased mark remain."""
    return Context(
        ctx.customer_id,
        erased=True,
        updated_at=max(ctx.updated_at, at),
        version=ctx.version + 1,
    )


def with_identifiers(ctx: Context, keys: Iterable[str], at: datetime | int) -> Context:
    """The profile's identity keys, as identity resolution holds them now."""
    keys = frozenset(keys)
    if ctx.erased or keys == ctx.keys:
        return ctx
    return _bump(ctx, to_millis(at), keys=keys)


def with_cart(ctx: Context, cart: Mapping[str, Any] | None, at: datetime | int) -> Context:
    """The current ``omni.view.CartSummary`` (None: no live cart)."""
    if ctx.erased or ctx.cart == cart:
        return ctx
    return _bump(ctx, to_millis(at), cart=None if cart is None else dict(cart))


def with_order(
    ctx: Context, summary: Mapping[str, Any], net_minor: int, at: datetime | int
) -> Context:
    """An ``omni.view.OrderSummary`` and its net value; older updates than held are ignored."""
    when = to_millis(at)
    held = ctx.orders.get(summary["order_id"])
    if ctx.erased or (held is not None and held.updated_at > when):
        return ctx
    entry = OrderEntry(
        summary["order_id"],
        summary["status"],
        summary["fulfilment"],
        summary["total_minor"],
        summary["currency"],
        to_millis(summary["placed_at"]),
        summary.get("location_id"),
        net_minor,
        when,
    )
    live = entry.status not in VOID_ORDER
    ledger = {**ctx.ledger, entry.order_id: Ledger(net_minor, entry.currency, live, when)}
    first = ctx.first_order_at
    if live:
        first = entry.placed_at if first is None else min(first, entry.placed_at)
    orders = _trim_orders({**ctx.orders, entry.order_id: entry})
    return _signals(_bump(ctx, when, orders=orders, ledger=ledger, first_order_at=first))


def with_case(
    ctx: Context, summary: Mapping[str, Any], csat: int | None, at: datetime | int
) -> Context:
    """An ``omni.view.CaseSummary`` and its CSAT score; older updates than held are ignored."""
    when = to_millis(at)
    held = ctx.cases.get(summary["case_id"])
    if ctx.erased or (held is not None and held.updated_at > when):
        return ctx
    entry = CaseEntry(
        summary["case_id"],
        summary["subject"],
        summary["status"],
        to_millis(summary["opened_at"]),
        summary["last_message"],
        csat,
        when,
    )
    cases = _trim_cases({**ctx.cases, entry.case_id: entry})
    return _signals(_bump(ctx, when, cases=cases))


def _trim_orders(orders: Mapping[str, OrderEntry]) -> dict[str, OrderEntry]:
    """Keep open orders and the most recent finished ones (the ledger keeps the counts)."""
    ranked = sorted(orders.values(), key=lambda o: o.placed_at, reverse=True)
    finished = [o for o in ranked if o.status in FINISHED_ORDER][:MAX_RECENT]
    return {o.order_id: o for o in ranked if o.status not in FINISHED_ORDER or o in finished}


def _trim_cases(cases: Mapping[str, CaseEntry]) -> dict[str, CaseEntry]:
    ranked = sorted(cases.values(), key=lambda c: c.opened_at, reverse=True)
    resolved = [c for c in ranked if c.status == "resolved"][:MAX_RECENT]
    return {c.case_id: c for c in ranked if c.status != "resolved" or c in resolved}


def _signals(ctx: Context) -> Context:
    """Update the sticky journey flags from what the context holds now."""
    promoter = ctx.promoter or any(
        c.status == "resolved" and (c.csat or 0) >= 4 for c in ctx.cases.values()
    )
    first = ctx.first_order_at
    after = ctx.after_purchase or (
        first is not None and any(c.opened_at >= first for c in ctx.cases.values())
    )
    if promoter == ctx.promoter and after == ctx.after_purchase:
        return ctx
    return replace(ctx, promoter=promoter, after_purchase=after)


def merge_into(survivor: Context, loser: Context) -> Context:
    """The survivor's context with the loser's folded in, nothing counted twice."""
    if survivor.erased:
        return survivor
    consents = survivor.consents
    for key, s in loser.consents.items():
        consents = put_lww(consents, key, s.value, s.at, s.event_id)
    traits = survivor.traits
    for key, t in loser.traits.items():
        traits = put_lww(traits, key, t.value, t.at, t.event_id)
    last = max(survivor.last_channel, loser.last_channel, key=lambda s: (s.at, s.event_id))
    ledger = _union(survivor.ledger, loser.ledger, lambda e: e.at)
    orders = _union(survivor.orders, loser.orders, lambda o: o.updated_at)
    cases = _union(survivor.cases, loser.cases, lambda c: c.updated_at)
    firsts = [t for t in (survivor.first_order_at, loser.first_order_at) if t is not None]
    merged = replace(
        survivor,
        keys=survivor.keys | loser.keys,
        traits=traits,
        interactions=_newest(survivor.interactions, loser.interactions),
        consents=consents,
        cart=survivor.cart if survivor.cart is not None else loser.cart,
        orders=_trim_orders(orders),
        ledger=ledger,
        cases=_trim_cases(cases),
        considered=survivor.considered or loser.considered,
        promoter=survivor.promoter or loser.promoter,
        after_purchase=survivor.after_purchase or loser.after_purchase,
        first_order_at=min(firsts) if firsts else None,
        last_channel=last,
        updated_at=max(survivor.updated_at, loser.updated_at),
        version=survivor.version + 1,
    )
    return _signals(merged)


def _union(ours: Mapping[str, E], theirs: Mapping[str, E], at: Callable[[E], int]) -> dict[str, E]:
    """Both maps; an id on both sides keeps the newer entry, ours on a tie."""
    out = dict(theirs)
    out.update({k: v for k, v in ours.items() if k not in out or at(v) >= at(out[k])})
    return out


def redirect(loser: Context, into: str, at: datetime | int) -> Context:
    """The merged-away profile: a redirect to the survivor, nothing else kept."""
    when = max(loser.updated_at, to_millis(at))
    return Context(loser.customer_id, merged_into=into, updated_at=when, version=loser.version + 1)


def split(survivor: Context, loser: Context, at: datetime | int) -> Context:
    """Undo a merge at the survivor: take back what the loser brought (its snapshot).

    What the loser brought is known exactly from the snapshot it shipped:
    its interactions, orders, cases and consents and traits by the event that
    set them. Those leave the survivor; anything either profile gathered after
    the merge stays with the survivor, which is where it was routed. A trait
    or consent the loser's value had replaced is not restored (its older
    value was overwritten at merge time); the next event sets it again.
    """
    if survivor.erased:
        return survivor
    theirs = {i.event_id for i in loser.interactions}
    consents = {
        k: s
        for k, s in survivor.consents.items()
        if not (k in loser.consents and loser.consents[k].event_id == s.event_id)
    }
    traits = {
        k: t
        for k, t in survivor.traits.items()
        if not (k in loser.traits and loser.traits[k].event_id == t.event_id)
    }
    ledger = {k: v for k, v in survivor.ledger.items() if k not in loser.ledger}
    firsts = [entry.at for entry in ledger.values()]
    kept = replace(
        survivor,
        keys=survivor.keys - loser.keys,
        traits=traits,
        consents=consents,
        interactions=tuple(i for i in survivor.interactions if i.event_id not in theirs),
        orders={k: v for k, v in survivor.orders.items() if k not in loser.orders},
        ledger=ledger,
        cases={k: v for k, v in survivor.cases.items() if k not in loser.cases},
        first_order_at=min(firsts) if firsts else None,
        updated_at=max(survivor.updated_at, to_millis(at)),
        version=survivor.version + 1,
    )
    return _signals(kept)


def restored(held: Context, snapshot: Context, at: datetime | int) -> Context:
    """The unmerged loser: its snapshot from before the merge, under its current keys."""
    return replace(
        snapshot,
        keys=held.keys or snapshot.keys,
        merged_into=held.merged_into,
        updated_at=max(held.updated_at, snapshot.updated_at, to_millis(at)),
        version=max(held.version, snapshot.version) + 1,
    )
