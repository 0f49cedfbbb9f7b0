"""The ``orders_by_id`` table: one order, its saga ledger and its seen event ids, by order id.

Keys are the order id's UTF-8 bytes, values orjson bytes (raw serialisers
both ways, like ``stock_by_sku``). Keyed like both of its sources
(``omni.order.events`` and ``omni.inventory.reservations`` are keyed by order
id with the same partition count), so an order's events and stock's answers
about it land on the worker that owns the order, in one partition's order.
The ledger (:mod:`streams.orders.saga`) travels with the order so a release is
never sent for units that were not confirmed, even after a restart.

Never rename the table: its changelog topic is ``<app id>-orders_by_id-changelog``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from streams.common import idempotency
from streams.exceptions import CorruptState
from streams.orders import model, saga

if TYPE_CHECKING:
    import faust

    from streams.app import Runtime

TABLE_NAME = "orders_by_id"


@dataclass(frozen=True, slots=True)
class OrderState:
    """What the table holds for one order id (``order`` is None until it is placed)."""

    order: model.Order | None
    seen: idempotency.Seen = field(default_factory=idempotency.Seen)
    holds: Mapping[str, saga.Hold] = field(default_factory=dict)


def encode(state: OrderState) -> bytes:
    order = model.to_state_dict(state.order) if state.order is not None else None
    return orjson.dumps(
        {
            "order": order,
            "seen": idempotency.to_state_dict(state.seen),
            "holds": saga.holds_to_list(state.holds),
        }
    )


def decode(data: bytes) -> OrderState:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CorruptState(f"{TABLE_NAME} holds a {type(data).__name__}, not bytes: {data!r:.80}")
    raw: dict[str, Any] = orjson.loads(data)
    order = model.from_state_dict(raw["order"]) if raw.get("order") else None
    return OrderState(
        order, idempotency.from_state_dict(raw["seen"]), saga.holds_from_list(raw["holds"])
    )


def orders_table(app: faust.App, runtime: Runtime, partitions: int) -> faust.types.TableT[Any, Any]:
    return app.Table(
        TABLE_NAME,
        # Faust derives the store's serialisers from these types only: bytes is raw both ways.
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
        options=runtime.table_options(),
        help="orders by id, with their reservation ledger and recently applied event ids",
    )
