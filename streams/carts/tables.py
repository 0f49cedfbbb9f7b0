"""The ``carts_by_customer`` table: a profile's cart, keyed by canonical customer id.

Keyed like ``omni.customer.by-canonical`` (the canonical id's UTF-8 bytes,
murmur2-partitioned by producers and Faust alike), so the cart, the context
and the events that change them are on one partition. A visitor's cart is
under their anonymous id (their canonical id) until identification merges it
into the customer's. The key is also the ``omni.view.carts`` key.

Never rename the table: its changelog is ``<app id>-carts_by_customer-changelog``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from streams.carts import model
from streams.exceptions import CorruptState

if TYPE_CHECKING:
    import faust

    from streams.app import Runtime

TABLE_NAME = "carts_by_customer"


def encode(cart: model.Cart) -> bytes:
    return orjson.dumps(model.to_state_dict(cart))


def decode(data: bytes) -> model.Cart:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CorruptState(f"{TABLE_NAME} holds a {type(data).__name__}, not bytes")
    return model.from_state_dict(orjson.loads(data))


def carts_table(app: faust.App, runtime: Runtime, partitions: int) -> faust.types.TableT[Any, Any]:
    return app.Table(
        TABLE_NAME,
        # bytes both ways: Faust derives the store serialisers from these types only.
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
        options=runtime.table_options(),
        help="cart per canonical customer id",
    )
