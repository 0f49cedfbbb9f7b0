"""The ``stock_by_sku`` table: every location of a SKU in one value, keyed by SKU.

Keys are the SKU's UTF-8 bytes (raw serialisers both ways, so a key read back
from the changelog on recovery is the same key that was written). Keyed like
its source topic (``omni.inventory.movements`` is keyed by SKU), so
table and topic are co-partitioned and a worker only ever reads keys of its
own partitions. One value per SKU holds all its locations, so the per-SKU
total (endless aisle) needs no cross-partition read. The value also carries
the SKU's recently applied event ids: duplicates are dropped per key.

Never rename the table: its changelog topic is ``<app id>-stock_by_sku-changelog``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from streams.common import idempotency
from streams.exceptions import CorruptState
from streams.stock import model

if TYPE_CHECKING:
    import faust

    from streams.app import Runtime

TABLE_NAME = "stock_by_sku"


@dataclass(frozen=True, slots=True)
class SkuState:
    """What the table holds for one SKU."""

    stock: model.Stock
    seen: idempotency.Seen


def encode(state: SkuState) -> bytes:
    return orjson.dumps(
        {"stock": model.to_state_dict(state.stock), "seen": idempotency.to_state_dict(state.seen)}
    )


def decode(data: bytes) -> SkuState:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CorruptState(f"{TABLE_NAME} holds a {type(data).__name__}, not bytes: {data!r:.80}")
    raw: dict[str, Any] = orjson.loads(data)
    return SkuState(model.from_state_dict(raw["stock"]), idempotency.from_state_dict(raw["seen"]))


def empty(sku: str) -> SkuState:
    return SkuState(model.Stock(sku), idempotency.Seen())


def stock_table(app: faust.App, runtime: Runtime, partitions: int) -> faust.types.TableT[Any, Any]:
    return app.Table(
        TABLE_NAME,
        # Faust derives the store's serialisers from these types only: bytes
        # means raw both ways (a Schema's serialisers would be ignored).
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
        options=runtime.table_options(),
        help="stock per SKU and location, with recently applied event ids",
    )
