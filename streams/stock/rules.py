"""Stock rules: available to promise, never negative, never oversold by a reservation.

Reservations
    :func:`reserve` refuses when ``available < quantity``: a reservation never
    oversells. An order's lines are reserved all-or-nothing at one location
    (:func:`reserve_lines`): either every line is reserved, or none is and the
    refused lines are reported, so an order is never half promised and no
    stock is held for an order that will be rejected anyway.

Floors
    ``on_hand`` and ``reserved`` never go below 0. A sale, pick-up, adjustment
    or transfer of more than is on hand floors at 0 and reports
    :class:`Oversold`, because the shop floor sold what the system did not
    know about and someone should count it.

Order of events
    Deltas are commutative, so a late one still applies, except that a count
    (an absolute ``on_hand``) already includes every change that happened
    before it: deltas older than the last count change only reservations, a
    count older than the last count is ignored, and a count arriving after
    deltas that happened later than it re-applies them (the level keeps its
    latest :data:`RECENT_DELTAS` on-hand deltas for that). On hand therefore
    converges to the latest count plus what happened after it, whatever the
    arrival order. Floors are the one non-commutative step: a sale applied
    before the goods it sold were received floors at 0 and is reported, and
    the next count corrects it, which is what counts are for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from streams.common.events import meta, short_name
from streams.common.outcome import Rejected
from streams.exceptions import UnsupportedEvent
from streams.stock.model import Level, Stock

RECENT_DELTAS = 32
ON_HAND_DELTAS = {"received": 1, "returned": 1, "sold": -1, "adjusted": 1}
COMMAND_KINDS = {"reserve": "reserved", "release": "released", "pick_up": "picked_up"}


@dataclass(frozen=True, slots=True)
class Oversold:
    """More units left a location than it had on hand; on hand was floored at 0."""

    sku: str
    location_id: str
    kind: str
    units: int


@dataclass(frozen=True, slots=True)
class Reserved:
    level: Level
    quantity: int
    reference: str | None


@dataclass(frozen=True, slots=True)
class Moved:
    """Outcome of a movement: the new SKU state, the locations changed, any floor notes."""

    state: Stock
    changed: tuple[str, ...] = ()
    notes: tuple[Oversold, ...] = ()


@dataclass(frozen=True, slots=True)
class LinesReserved:
    levels: Mapping[str, Level]
    reservations: tuple[Reserved, ...]


@dataclass(frozen=True, slots=True)
class LinesRejected:
    rejected: tuple[tuple[str, int, int], ...]  # (sku, wanted, available)


def _bump(level: Level, at: int | None, **changes: Any) -> Level:
    when = level.updated_at if at is None else max(level.updated_at, at)
    return replace(level, updated_at=when, version=level.version + 1, **changes)


def reserve(
    level: Level, qty: int, reference: str | None = None, at: int | None = None
) -> Reserved | Rejected:
    """Promise ``qty`` units, or refuse: available never drops below what is promised."""
    if qty <= 0:
        return Rejected("bad_quantity", f"reserve {qty}")
    if level.available < qty:
        detail = f"{level.sku}@{level.location_id}: {level.available} < {qty}"
        return Rejected("insufficient_stock", detail)
    return Reserved(_bump(level, at, reserved=level.reserved + qty), qty, reference)


def release(level: Level, qty: int, at: int | None = None) -> Level:
    """Give back a promise; releasing more than is reserved stops at 0."""
    return _bump(level, at, reserved=max(level.reserved - qty, 0))


def shortfall(level: Level, qty: int) -> int:
    """Units of a decrement of ``qty`` that were not on hand."""
    return max(qty - level.on_hand, 0)


def sell(level: Level, qty: int, at: int | None = None) -> Level:
    """A sale off the shelf: on hand down, floored at 0 (see :func:`shortfall`)."""
    return _on_hand(level, -qty, at)


def pick_up(level: Level, qty: int, at: int | None = None) -> Level:
    """A reservation collected: the promise is kept, so reserved and on hand both drop."""
    return _on_hand(release(level, qty, at), -qty, at)


def return_to(level: Level, qty: int, at: int | None = None) -> Level:
    """Goods back at the location they were returned to."""
    return _on_hand(level, qty, at)


def _on_hand(level: Level, delta: int, at: int | None) -> Level:
    """Apply an on-hand delta (floored at 0) and log it for a count that may come late."""
    if at is None:
        return _bump(level, at, on_hand=max(level.on_hand + delta, 0))
    recent = sorted((*level.recent, (at, delta)))[-RECENT_DELTAS:]
    return _bump(level, at, on_hand=max(level.on_hand + delta, 0), recent=tuple(recent))


def count(level: Level, on_hand: int, at: int) -> Level:
    """A physical count sets on hand absolutely, plus the logged deltas that happened after it.

    A count older than the last one is ignored.
    """
    if level.counted_at is not None and at < level.counted_at:
        return level
    after = tuple(pair for pair in level.recent if pair[0] > at)
    counted = max(on_hand + sum(delta for _, delta in after), 0)
    return _bump(level, at, on_hand=counted, counted_at=at, recent=after)


def reserve_lines(
    levels: Mapping[str, Level],
    lines: Iterable[Mapping[str, Any]],
    location: str,
    reference: str | None = None,
    at: int | None = None,
) -> LinesReserved | LinesRejected:
    """Reserve every line of one order at ``location``, or none of them (all-or-nothing).

    ``levels`` maps SKU to its level at ``location``; a SKU missing there has
    nothing available. Lines of the same SKU are reserved together.
    """
    wanted: dict[str, int] = {}
    for line in lines:
        wanted[line["sku"]] = wanted.get(line["sku"], 0) + line["quantity"]
    done: list[Reserved] = []
    refused: list[tuple[str, int, int]] = []
    for sku, qty in wanted.items():
        level = levels.get(sku) or Level(sku, location)
        result = reserve(level, qty, reference, at)
        if isinstance(result, Rejected):
            refused.append((sku, qty, level.available))
        else:
            done.append(result)
    if refused:
        return LinesRejected(tuple(refused))
    return LinesReserved({r.level.sku: r.level for r in done}, tuple(done))


def apply(stock: Stock | None, record_name: str, event: Mapping[str, Any]) -> Moved | Rejected:
    """Fold one ``omni.inventory.StockMovement``."""
    if short_name(record_name) != "StockMovement":
        raise UnsupportedEvent(f"stock rules do not fold {record_name}")
    for field_name in ("sku", "location_id"):
        if not str(event.get(field_name) or "").strip():
            return Rejected(f"blank_{field_name}", f"a movement with no {field_name}")
    stock = stock or Stock(event["sku"])
    m = meta(event)
    return move(
        stock,
        event["kind"],
        event["location_id"],
        event["quantity"],
        at=m.at,
        to_location_id=event.get("to_location_id"),
        reference=event.get("reference"),
    )


def run_command(
    stock: Stock, kind: str, location_id: str, quantity: int, reference: str | None, at: int
) -> Moved | Rejected:
    """Carry out an order's stock command (``reserve``, ``release``, ``pick_up``, ``returned``)."""
    return move(stock, COMMAND_KINDS.get(kind, kind), location_id, quantity, at, None, reference)


def move(
    stock: Stock,
    kind: str,
    location_id: str,
    quantity: int,
    at: int,
    to_location_id: str | None = None,
    reference: str | None = None,
) -> Moved | Rejected:
    """Apply one movement kind at one location (two for a transfer)."""
    if kind == "counted":
        if quantity < 0:
            return Rejected("bad_quantity", f"counted {quantity}")
        return _put(stock, (count(stock.level(location_id), quantity, at),))
    if kind != "adjusted" and quantity <= 0:
        return Rejected("bad_quantity", f"{kind} {quantity}")
    level = stock.level(location_id)
    if kind == "reserved":
        result = reserve(level, quantity, reference, at)
        return result if isinstance(result, Rejected) else _put(stock, (result.level,))
    if kind == "released":
        return _put(stock, (release(level, quantity, at),))
    if kind == "picked_up":
        released = release(level, quantity, at)
        moved = released if _absorbed(level, at) else _on_hand(released, -quantity, at)
        return _put(stock, (moved,), _note(level, kind, quantity, at))
    if kind == "transferred":
        return _transfer(stock, level, to_location_id, quantity, at)
    if kind in ON_HAND_DELTAS:
        return _delta(stock, level, kind, quantity * ON_HAND_DELTAS[kind], at)
    return Rejected("unknown_kind", kind)


def _absorbed(level: Level, at: int) -> bool:
    """Whether a change at ``at`` is already part of the level's last count."""
    return level.counted_at is not None and at <= level.counted_at


def _note(level: Level, kind: str, qty: int, at: int) -> tuple[Oversold, ...]:
    units = 0 if _absorbed(level, at) else shortfall(level, qty)
    return (Oversold(level.sku, level.location_id, kind, units),) if units else ()


def _delta(stock: Stock, level: Level, kind: str, delta: int, at: int) -> Moved:
    if delta == 0 or _absorbed(level, at):
        return Moved(stock)
    notes = _note(level, kind, -delta, at) if delta < 0 else ()
    return _put(stock, (_on_hand(level, delta, at),), notes)


def _transfer(
    stock: Stock, origin: Level, to_location_id: str | None, qty: int, at: int
) -> Moved | Rejected:
    if not to_location_id or to_location_id == origin.location_id:
        return Rejected("bad_transfer", f"{origin.location_id} -> {to_location_id}")
    out = _delta(stock, origin, "transferred", -qty, at)
    into = _delta(out.state, out.state.level(to_location_id), "transferred", qty, at)
    return Moved(into.state, out.changed + into.changed, out.notes)


def _put(stock: Stock, levels: tuple[Level, ...], notes: tuple[Oversold, ...] = ()) -> Moved:
    changed = tuple(lv.location_id for lv in levels if stock.levels.get(lv.location_id) != lv)
    if not changed:
        return Moved(stock)
    new = {**stock.levels, **{lv.location_id: lv for lv in levels}}
    return Moved(Stock(stock.sku, new), changed, notes)
