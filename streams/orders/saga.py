"""The reservation saga's pure half: stock commands to movements, replies to compensations.

An order's stock commands (:class:`streams.orders.rules.StockCommand`) are
turned into ``omni.inventory.StockMovement`` records here, against a small
ledger of what the order holds per ``sku@location`` (:class:`Hold`). The
ledger is what makes the saga safe against overselling: a release or a
pick-up is only sent for units the stock processor *confirmed*. Releasing
units whose reservation was refused would release another order's units.

Hold states
    ``pending``  a ``reserved`` movement was sent, no answer yet; a release or
                 pick-up asked meanwhile is parked in ``then`` and sent when
                 the confirmation comes (nothing is sent if it is refused);
    ``held``     stock confirmed: the units are the order's;
    ``refused``  stock refused: nothing is held, nothing is ever released.

Ids are deterministic (:func:`movement_id`): uuid5 of the order, the
``sku@location`` (the command's line: commands are per SKU, summed over the
order's lines), the movement kind and the event that caused it. Reprocessing
the same event after a crash yields the same ids, and the stock processor
drops a movement id it has already applied; the cause is part of the id so a
second, genuinely new step of the same kind (an order allocated A, B, then A
again) is not mistaken for a duplicate.

The cause of a release or a pick-up is the event that asked for it, whether
it is sent at once (the units were held) or parked until stock confirms
(``then_cause``), never the confirmation that happens to release it. The
order event and the stock reply come from different partitions, so after a
crash or a rebalance they can be applied again in the other order: with the
confirmation as the cause, the same pick-up got a second id and stock
counted it twice (row 1 of the fault suite, under CPU load).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from streams.common.events import to_datetime
from streams.orders.rules import CommandKind, StockCommand

NAMESPACE = uuid.UUID("6f1d7c1e-5a52-4d0e-9d0b-2f3a4c5e6d70")
SOURCE = "streams.orders"
PENDING, HELD, REFUSED = "pending", "held", "refused"
RELEASE, PICK_UP = "release", "pick_up"
IDENTIFIERS = (
    "customer_id",
    "anonymous_id",
    "device_id",
    "email_sha256",
    "phone_sha256",
    "loyalty_id",
)


@dataclass(frozen=True, slots=True)
class Hold:
    """What an order holds (or asked to hold) of one SKU at one location."""

    sku: str
    location_id: str
    quantity: int
    status: str = PENDING
    then: str | None = None  # parked release / pick_up, sent on confirmation
    then_cause: str | None = None  # the event that asked for ``then``: its movements' cause

    @property
    def key(self) -> str:
        return hold_key(self.sku, self.location_id)


@dataclass(frozen=True, slots=True)
class Movement:
    """A stock movement to send, keyed by SKU on ``omni.inventory.movements``."""

    event_id: str
    sku: str
    location_id: str
    kind: str
    quantity: int
    reference: str
    at: int


@dataclass(frozen=True, slots=True)
class Planned:
    holds: Mapping[str, Hold]
    movements: tuple[Movement, ...] = ()


def hold_key(sku: str, location_id: str) -> str:
    return f"{sku}@{location_id}"


def movement_id(order_id: str, sku: str, location_id: str, kind: str, cause: str) -> str:
    """The deterministic event (and movement) id of one movement of an order."""
    name = f"{order_id}|{hold_key(sku, location_id)}|{kind}|{cause}"
    return str(uuid.uuid5(NAMESPACE, name))


def _move(order_id: str, sku: str, loc: str, kind: str, qty: int, cause: str, at: int) -> Movement:
    return Movement(movement_id(order_id, sku, loc, kind, cause), sku, loc, kind, qty, order_id, at)


def _collect(order_id: str, hold: Hold, action: str, cause: str, at: int) -> tuple[Movement, ...]:
    """A release is one ``released``; a pick-up is ``released`` then ``sold`` (same partition)."""
    out = [_move(order_id, hold.sku, hold.location_id, "released", hold.quantity, cause, at)]
    if action == PICK_UP:
        out.append(_move(order_id, hold.sku, hold.location_id, "sold", hold.quantity, cause, at))
    return tuple(out)


def plan(
    holds: Mapping[str, Hold], commands: Iterable[StockCommand], cause: str, at: int
) -> Planned:
    """Movements for ``commands`` caused by event ``cause``, and the ledger after them."""
    ledger = dict(holds)
    out: list[Movement] = []
    for cmd in commands:
        key = hold_key(cmd.sku, cmd.location_id)
        hold = ledger.get(key)
        ref, sku, loc, qty = cmd.reference, cmd.sku, cmd.location_id, cmd.quantity
        if cmd.kind is CommandKind.RESERVE:
            ledger[key] = Hold(sku, loc, qty)
            out.append(_move(ref, sku, loc, "reserved", qty, cause, at))
        elif cmd.kind is CommandKind.RETURNED:
            out.append(_move(ref, sku, loc, "returned", qty, cause, at))
        elif hold is None or hold.status == REFUSED:
            if cmd.kind is CommandKind.PICK_UP:  # goods left with nothing held: a plain sale
                out.append(_move(ref, sku, loc, "sold", qty, cause, at))
        elif hold.status == PENDING:
            ledger[key] = replace(
                hold,
                then=RELEASE if cmd.kind is CommandKind.RELEASE else PICK_UP,
                then_cause=cause,
            )
        else:
            del ledger[key]
            action = RELEASE if cmd.kind is CommandKind.RELEASE else PICK_UP
            out.extend(_collect(ref, hold, action, cause, at))
    return Planned(ledger, tuple(out))


def confirmed(
    holds: Mapping[str, Hold],
    order_id: str,
    reply: Mapping[str, Any],
    void: bool,
    cause: str,
    at: int,
) -> Planned:
    """Stock held units: keep them, or give them back when the order no longer wants them.

    ``void`` says the order is cancelled or rejected: whatever arrives then is released.
    A confirmation the ledger does not expect is released too (the order holds nothing there).
    """
    key = hold_key(reply["sku"], reply["location_id"])
    hold = holds.get(key)
    if hold is not None and hold.status == HELD:
        return Planned(holds)
    ledger = dict(holds)
    if hold is None or hold.status == REFUSED:
        hold = Hold(reply["sku"], reply["location_id"], reply["quantity"], HELD, RELEASE)
    action = RELEASE if void else hold.then
    if action is None:
        ledger[key] = replace(hold, status=HELD)
        return Planned(ledger)
    ledger.pop(key, None)
    # Parked: the movements are those of the request, whatever order the two arrived in.
    origin = hold.then_cause if hold.then == action and hold.then_cause else cause
    return Planned(
        ledger, _collect(order_id, replace(hold, quantity=reply["quantity"]), action, origin, at)
    )


def refused(holds: Mapping[str, Hold], reply: Mapping[str, Any]) -> Mapping[str, Hold]:
    """Stock refused: the hold is marked refused and any parked action is dropped."""
    key = hold_key(reply["sku"], reply["location_id"])
    hold = holds.get(key) or Hold(reply["sku"], reply["location_id"], reply["quantity"])
    return {**holds, key: replace(hold, status=REFUSED, then=None, then_cause=None)}


def release_all(holds: Mapping[str, Hold], order_id: str, cause: str, at: int) -> Planned:
    """The order was rejected: release what is held, and park a release on what is pending."""
    ledger: dict[str, Hold] = {}
    out: list[Movement] = []
    for key, hold in holds.items():
        if hold.status == HELD:
            out.extend(_collect(order_id, hold, RELEASE, cause, at))
        elif hold.status == PENDING:
            ledger[key] = replace(hold, then=RELEASE, then_cause=cause)
        else:
            ledger[key] = hold
    return Planned(ledger, tuple(out))


def to_record(movement: Movement) -> dict[str, Any]:
    """``omni.inventory.StockMovement`` for ``movement``."""
    return {
        "envelope": {
            "event_id": movement.event_id,
            "occurred_at": to_datetime(movement.at),
            "channel": "unknown",
            "source": SOURCE,
            "identifiers": dict.fromkeys(IDENTIFIERS),
            "session_id": None,
            "correlation_id": movement.reference,
            "sequence": None,
        },
        "movement_id": movement.event_id,
        "sku": movement.sku,
        "location_id": movement.location_id,
        "kind": movement.kind,
        "quantity": movement.quantity,
        "to_location_id": None,
        "reference": movement.reference,
    }


def holds_to_list(holds: Mapping[str, Hold]) -> list[list[Any]]:
    """Compact JSON form for the table."""
    return [
        [h.sku, h.location_id, h.quantity, h.status, h.then, h.then_cause] for h in holds.values()
    ]


def holds_from_list(rows: Iterable[list[Any]]) -> dict[str, Hold]:
    holds = (Hold(*row) for row in rows)
    return {hold.key: hold for hold in holds}
