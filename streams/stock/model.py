"""Stock levels per SKU and location, their views and their table form."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.common.events import require, to_datetime

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Level:
    """One SKU at one location.

    ``reserved`` can exceed ``on_hand`` after a sale or a count found less than
    was promised; ``available`` still never goes below 0, so no channel is
    ever offered stock that is not there. ``counted_at`` is the time of the
    last physical count: changes that happened before it are already in it.
    ``recent`` holds the latest on-hand deltas as ``(at, delta)``, so a count
    that arrives after changes that happened later than it re-applies them.
    """

    sku: str
    location_id: str
    on_hand: int = 0
    reserved: int = 0
    counted_at: int | None = None
    updated_at: int = 0
    version: int = 0
    recent: tuple[tuple[int, int], ...] = ()

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


@dataclass(frozen=True, slots=True)
class Stock:
    """Every location of one SKU: the state of one key of the movements topic."""

    sku: str
    levels: Mapping[str, Level] = field(default_factory=dict)

    def level(self, location_id: str) -> Level:
        return self.levels.get(location_id) or Level(self.sku, location_id)


def to_view(level: Level) -> dict[str, Any]:
    """``omni.view.StockLevel``."""
    return {
        "sku": level.sku,
        "location_id": level.location_id,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "available": level.available,
        "updated_at": to_datetime(level.updated_at),
        "version": level.version,
    }


def total(levels: Iterable[Level], sku: str | None = None) -> dict[str, Any]:
    """``omni.view.StockTotal`` over ``levels`` (all of one SKU).

    Its version is the sum of the level versions: it grows with every change
    of any location, as the view's per-key version must.
    """
    on_hand = reserved = available = locations = version = updated_at = 0
    for level in levels:
        sku = sku or level.sku
        on_hand += level.on_hand
        reserved += level.reserved
        available += level.available
        locations += level.available > 0
        version += level.version
        updated_at = max(updated_at, level.updated_at)
    return {
        "sku": sku or "",
        "on_hand": on_hand,
        "reserved": reserved,
        "available": available,
        "locations": locations,
        "updated_at": to_datetime(updated_at),
        "version": version,
    }


def to_state_dict(stock: Stock) -> dict[str, Any]:
    """JSON-safe form: one row per location."""
    return {
        "v": STATE_VERSION,
        "sku": stock.sku,
        "levels": [
            [
                lv.location_id,
                lv.on_hand,
                lv.reserved,
                lv.counted_at,
                lv.updated_at,
                lv.version,
                [list(pair) for pair in lv.recent],
            ]
            for lv in stock.levels.values()
        ],
    }


def from_state_dict(data: Mapping[str, Any]) -> Stock:
    sku = require(data, "sku")
    levels = [_level(sku, row) for row in require(data, "levels")]
    return Stock(sku, {lv.location_id: lv for lv in levels})


def _level(sku: str, row: list[Any]) -> Level:
    location_id, on_hand, reserved, counted_at, updated_at, version, recent = row
    pairs = tuple((at, delta) for at, delta in recent)
    return Level(sku, location_id, on_hand, reserved, counted_at, updated_at, version, pairs)
