"""The single customer view: state, table form and the ``CustomerContext`` record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.common.events import Stamp, require, to_datetime
from streams.common.idempotency import Stamped, stamped_from_list, stamped_to_list
from streams.common.identifiers import identifier_set, ordered

STATE_VERSION = 1
MAX_INTERACTIONS = 20
MAX_RECENT = 10
# Order statuses after which an order is no longer "open" (omni.view.OrderStatus).
FINISHED_ORDER = frozenset({"picked_up", "delivered", "cancelled", "returned", "rejected"})
VOID_ORDER = frozenset({"cancelled", "rejected"})
NO_CHANNEL: Stamped[str] = Stamped("unknown", -1, "")


@dataclass(frozen=True, slots=True)
class Interaction:
    channel: str
    type: str
    at: int
    summary: str
    event_id: str


@dataclass(frozen=True, slots=True)
class OrderEntry:
    """An order as the context shows it; ``updated_at`` orders updates of the same order."""

    order_id: str
    status: str
    fulfilment: str
    total_minor: int
    currency: str
    placed_at: int
    location_id: str | None
    net_minor: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class CaseEntry:
    case_id: str
    subject: str
    status: str
    opened_at: int
    last_message: str
    csat: int | None
    updated_at: int


@dataclass(frozen=True, slots=True)
class Ledger:
    """One order's contribution to the counts, kept for every order ever seen, once."""

    net_minor: int
    currency: str
    live: bool
    at: int


@dataclass(frozen=True, slots=True)
class Context:
    """Everything known about one canonical customer.

    ``orders`` and ``cases`` keep the open ones and the most recent finished
    ones; ``ledger`` keeps every order id once, so counts survive trimming and
    merging without counting an order twice. The sticky flags (``considered``,
    ``promoter``, ``after_purchase``) remember journey signals that trimmed
    history no longer shows.
    """

    customer_id: str
    keys: frozenset[str] = frozenset()
    traits: Mapping[str, Stamped[str]] = field(default_factory=dict)
    interactions: tuple[Interaction, ...] = ()
    consents: Mapping[str, Stamped[bool]] = field(default_factory=dict)
    cart: Mapping[str, Any] | None = None
    orders: Mapping[str, OrderEntry] = field(default_factory=dict)
    ledger: Mapping[str, Ledger] = field(default_factory=dict)
    cases: Mapping[str, CaseEntry] = field(default_factory=dict)
    considered: bool = False
    promoter: bool = False
    after_purchase: bool = False
    first_order_at: int | None = None
    last_channel: Stamped[str] = NO_CHANNEL
    erased: bool = False
    merged_into: str | None = None
    updated_at: int = 0
    version: int = 0


def currency(ctx: Context) -> str:
    """Lifetime value's currency: that of the most recently updated order."""
    latest = max(ctx.ledger.values(), key=lambda e: e.at, default=None)
    return latest.currency if latest else "EUR"


def order_count(ctx: Context) -> int:
    """Orders that went through (not cancelled or rejected), each counted once."""
    return sum(1 for e in ctx.ledger.values() if e.live)


def lifetime_value(ctx: Context) -> int:
    """Sum of the orders' totals less returns, in the context currency."""
    cur = currency(ctx)
    return sum(e.net_minor for e in ctx.ledger.values() if e.live and e.currency == cur)


def journey_stage(ctx: Context) -> str:
    """The rule-based lifecycle stage (see :mod:`streams.context.rules`)."""
    orders = order_count(ctx)
    if orders >= 2 and ctx.promoter:
        return "advocacy"
    if orders >= 2 or (orders >= 1 and ctx.after_purchase):
        return "retention"
    if orders >= 1:
        return "purchase"
    if ctx.considered or (ctx.cart is not None and ctx.cart.get("item_count", 0) > 0):
        return "consideration"
    return "awareness"


def to_view(ctx: Context, stamp: Stamp = to_datetime) -> dict[str, Any]:
    """``omni.view.CustomerContext``; a merged-away or erased profile shows only that.

    ``stamp`` writes the times: datetimes for the JSON API, the millis
    themselves for the Avro view topic (:func:`streams.common.events.wire_millis`).
    """
    view = _blank(ctx, stamp)
    if ctx.merged_into is not None or ctx.erased:
        return view
    finished = sorted(
        (o for o in ctx.orders.values() if o.status in FINISHED_ORDER), key=lambda o: -o.placed_at
    )
    view.update(
        identifiers=identifier_set(ctx.keys),
        traits={name: s.value for name, s in sorted(ctx.traits.items())},
        recent_interactions=[_interaction_view(i, stamp) for i in ctx.interactions],
        cart=dict(ctx.cart) if ctx.cart is not None else None,
        open_orders=[
            _order_view(o, stamp)
            for o in sorted(ctx.orders.values(), key=lambda o: -o.placed_at)
            if o.status not in FINISHED_ORDER
        ],
        recent_orders=[_order_view(o, stamp) for o in finished[:MAX_RECENT]],
        open_cases=[
            _case_view(c, stamp)
            for c in sorted(ctx.cases.values(), key=lambda c: -c.opened_at)
            if c.status != "resolved"
        ],
        consents=[_consent_view(k, s, stamp) for k, s in sorted(ctx.consents.items())],
        order_count=order_count(ctx),
        lifetime_value_minor=lifetime_value(ctx),
        currency=currency(ctx),
        last_channel=ctx.last_channel.value,
        journey_stage=journey_stage(ctx),
    )
    return view


def _blank(ctx: Context, stamp: Stamp) -> dict[str, Any]:
    return {
        "customer_id": ctx.customer_id,
        "merged_into": ctx.merged_into,
        "identifiers": identifier_set(()),
        "traits": {},
        "recent_interactions": [],
        "cart": None,
        "open_orders": [],
        "recent_orders": [],
        "open_cases": [],
        "consents": [],
        "order_count": 0,
        "lifetime_value_minor": 0,
        "currency": "EUR",
        "last_channel": "unknown",
        "journey_stage": "awareness",
        "erased": ctx.erased,
        "updated_at": stamp(ctx.updated_at),
        "version": ctx.version,
    }


def _interaction_view(i: Interaction, stamp: Stamp) -> dict[str, Any]:
    return {
        "channel": i.channel,
        "type": i.type,
        "occurred_at": stamp(i.at),
        "summary": i.summary,
    }


def _order_view(o: OrderEntry, stamp: Stamp) -> dict[str, Any]:
    return {
        "order_id": o.order_id,
        "status": o.status,
        "fulfilment": o.fulfilment,
        "total_minor": o.total_minor,
        "currency": o.currency,
        "placed_at": stamp(o.placed_at),
        "location_id": o.location_id,
    }


def _case_view(c: CaseEntry, stamp: Stamp) -> dict[str, Any]:
    return {
        "case_id": c.case_id,
        "subject": c.subject,
        "status": c.status,
        "opened_at": stamp(c.opened_at),
        "last_message": c.last_message,
    }


def _consent_view(key: str, s: Stamped[bool], stamp: Stamp) -> dict[str, Any]:
    channel, _, purpose = key.partition("/")
    return {
        "channel": channel,
        "purpose": purpose,
        "granted": s.value,
        "updated_at": stamp(s.at),
    }


def to_state_dict(ctx: Context) -> dict[str, Any]:
    """JSON-safe form for the table: small records as lists, maps as dicts."""
    return {
        "v": STATE_VERSION,
        "customer_id": ctx.customer_id,
        "keys": ordered(ctx.keys),
        "traits": {k: stamped_to_list(s) for k, s in ctx.traits.items()},
        "interactions": [
            [i.channel, i.type, i.at, i.summary, i.event_id] for i in ctx.interactions
        ],
        "consents": {k: stamped_to_list(s) for k, s in ctx.consents.items()},
        "cart": None if ctx.cart is None else dict(ctx.cart),
        "orders": [list(_fields(o)) for o in ctx.orders.values()],
        "ledger": {k: [e.net_minor, e.currency, e.live, e.at] for k, e in ctx.ledger.items()},
        "cases": [list(_fields(c)) for c in ctx.cases.values()],
        "flags": [ctx.considered, ctx.promoter, ctx.after_purchase],
        "first_order_at": ctx.first_order_at,
        "last_channel": stamped_to_list(ctx.last_channel),
        "erased": ctx.erased,
        "merged_into": ctx.merged_into,
        "updated_at": ctx.updated_at,
        "version": ctx.version,
    }


def _fields(entry: OrderEntry | CaseEntry) -> tuple[Any, ...]:
    return tuple(getattr(entry, name) for name in entry.__slots__)


def from_state_dict(data: Mapping[str, Any]) -> Context:
    considered, promoter, after_purchase = require(data, "flags")
    orders = [OrderEntry(*row) for row in require(data, "orders")]
    cases = [CaseEntry(*row) for row in require(data, "cases")]
    return Context(
        customer_id=require(data, "customer_id"),
        keys=frozenset(require(data, "keys")),
        traits={k: stamped_from_list(v) for k, v in require(data, "traits").items()},
        interactions=tuple(Interaction(*row) for row in require(data, "interactions")),
        consents={k: stamped_from_list(v) for k, v in require(data, "consents").items()},
        cart=data.get("cart"),
        orders={o.order_id: o for o in orders},
        ledger={k: Ledger(*v) for k, v in require(data, "ledger").items()},
        cases={c.case_id: c for c in cases},
        considered=considered,
        promoter=promoter,
        after_purchase=after_purchase,
        first_order_at=data.get("first_order_at"),
        last_channel=stamped_from_list(require(data, "last_channel")),
        erased=require(data, "erased"),
        merged_into=data.get("merged_into"),
        updated_at=require(data, "updated_at"),
        version=require(data, "version"),
    )
