"""Exactly-once *effect* under at-least-once delivery, and the out-of-order rule.

Kafka gives each key a total order (one partition) but delivers at least once:
after a crash, a rebalance or a connector's retry, an event can come again,
and a source that buffers (a POS terminal offline for an hour) can deliver
events of a key late, after newer ones from other sources.

The rule
--------
1. **Arrival order.** Events of a key are applied in partition (arrival)
   order. Nothing is buffered or re-sorted: a processor never waits.
2. **Duplicates are dropped.** An event whose ``event_id`` was already applied
   to the key is a duplicate and has no effect at all.
3. **Late events are still applied.** An event whose ``envelope.sequence``
   from the same ``source`` is not above the highest sequence already applied
   from that source, and whose id is unknown, is *late* (reordered upstream).
   It is applied, because every effect is written to tolerate it:

   * **commutative effects** (stock deltas, cart quantity adds, counters,
     set unions) give the same result in any order, so a late one simply
     applies;
   * **last-writer-wins fields** (consent per channel and purpose, profile
     traits, a price, a case's latest message or status) keep, next to the
     value, the ``occurred_at`` and ``event_id`` that set it, and a new value
     only wins if it is newer: later ``occurred_at``, ties broken by the
     greater event id (:func:`lww`). A late value older than the one held is
     ignored, so the field converges to the real-world latest decision
     whatever the arrival order.

Events without a ``sequence`` are never classed late; rule 2 still applies.

The bound
---------
:class:`Seen` remembers the last :data:`SEEN_BOUND` (512) event ids per key,
evicting the oldest first. Redeliveries replay a key's events in their
original order and only since the last committed offset, so a duplicate
is always among the key's most recent events; 512 covers the uncommitted
window of any one key (a commit every few seconds against a per-key rate of
a few events per second) with two orders of magnitude to spare, while keeping
the per-key cost at a few kilobytes. A replay older than 512 events of its key
cannot be told from a late event and would be applied again; offsets are
committed long before that can happen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar
from uuid import UUID

from streams.common.events import event_id_text, require, to_millis

SEEN_BOUND = 512
T = TypeVar("T")


class Verdict(StrEnum):
    """What to do with an event, from :func:`check`."""

    APPLY = "apply"
    LATE = "late"  # apply it (rule 3): LWW fields take care of themselves
    DUPLICATE = "duplicate"

    @property
    def applies(self) -> bool:
        return self is not Verdict.DUPLICATE


@dataclass(frozen=True, slots=True)
class Seen:
    """Per key: the recently applied event ids (oldest first) and the top sequence per source.

    ``ids`` is an insertion-ordered dict used as an ordered set (O(1) lookups);
    it is never mutated after construction: :func:`record` builds a new one.
    """

    ids: Mapping[str, None] = field(default_factory=dict)
    high: Mapping[str, int] = field(default_factory=dict)


def check(seen: Seen, event_id: UUID | str, source: str, sequence: int | None) -> Verdict:
    """Classify an event against what the key has applied (rules 2 and 3)."""
    if event_id_text(event_id) in seen.ids:
        return Verdict.DUPLICATE
    if sequence is not None and source in seen.high and sequence <= seen.high[source]:
        return Verdict.LATE
    return Verdict.APPLY


def record(
    seen: Seen, event_id: UUID | str, source: str, sequence: int | None, bound: int = SEEN_BOUND
) -> Seen:
    """``seen`` with the event added, the oldest id evicted beyond ``bound``."""
    ids = dict(seen.ids)
    ids[event_id_text(event_id)] = None
    while len(ids) > bound:
        del ids[next(iter(ids))]
    high = seen.high
    if sequence is not None and sequence > high.get(source, -1):
        high = {**high, source: sequence}
    return Seen(ids, high)


def admit(seen: Seen, envelope: Mapping[str, Any]) -> tuple[Verdict, Seen]:
    """:func:`check` then :func:`record` for a decoded envelope: what agents call first."""
    event_id, source, sequence = envelope["event_id"], envelope["source"], envelope.get("sequence")
    verdict = check(seen, event_id, source, sequence)
    if not verdict.applies:
        return verdict, seen
    return verdict, record(seen, event_id, source, sequence)


def newer(at: int, event_id: str, than_at: int, than_id: str) -> bool:
    """Whether (``at``, ``event_id``) beats (``than_at``, ``than_id``): the LWW order."""
    return (at, event_id) > (than_at, than_id)


@dataclass(frozen=True, slots=True)
class Stamped(Generic[T]):
    """A last-writer-wins value with the stamp of the event that set it."""

    value: T
    at: int
    event_id: str


def lww(
    current_value: T | None,
    current_at: int | None,
    current_id: str | None,
    new_value: T,
    new_at: int,
    new_id: str,
) -> Stamped[T | None]:
    """The winner of two writes: the newer ``occurred_at``, ties to the greater event id.

    A field that was never written (``current_at is None``) takes the new value.
    """
    if current_at is None or newer(new_at, new_id, current_at, current_id or ""):
        return Stamped(new_value, new_at, new_id)
    return Stamped(current_value, current_at, current_id or "")


def put_lww(
    values: Mapping[str, Stamped[T]], name: str, value: T, at: int, event_id: str
) -> Mapping[str, Stamped[T]]:
    """``values`` with ``name`` set if the write wins; the same mapping object if it loses."""
    held = values.get(name)
    if held is not None and not newer(at, event_id, held.at, held.event_id):
        return values
    return {**values, name: Stamped(value, at, event_id)}


def to_state_dict(seen: Seen) -> dict[str, Any]:
    """JSON-safe form for the table."""
    return {"ids": list(seen.ids), "high": dict(seen.high)}


def from_state_dict(data: Mapping[str, Any]) -> Seen:
    return Seen(
        dict.fromkeys(require(data, "ids")),
        {str(k): int(v) for k, v in require(data, "high").items()},
    )


def stamped_to_list(stamped: Stamped[Any]) -> list[Any]:
    """Compact JSON form ``[value, at, event_id]``."""
    return [stamped.value, stamped.at, stamped.event_id]


def stamped_from_list(data: list[Any]) -> Stamped[Any]:
    value, at, event_id = data
    return Stamped(value, to_millis(at), str(event_id))
