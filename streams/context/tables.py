"""The ``context_by_customer`` table: the single customer view and cart, keyed by canonical id.

Co-partitioned with ``omni.customer.by-canonical``. Next to the context it
keeps the profile's recently applied event ids (stage 1 already drops
duplicates per identifier, this drops redeliveries between the stages and
merge commands applied twice), the canonical id's kind, so a cart created
here knows whether its key is a customer id, and the profile's cart.

The cart is in the same value as the event ids that say what was applied to
it, on purpose. Kept in a table of its own (``carts_by_customer``, as it
once was), a ``kill -9`` between the cart's write and the profile's, or a restore
from two changelogs that stopped at different points, left a cart holding
events its profile did not list as applied: the run was applied again and
the cart counted them twice (row 1 of the fault suite). One value per key
is written atomically, so a cart and its event ids cannot part.

Never rename the table: its changelog is ``<app id>-context_by_customer-changelog``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import orjson

from streams.carts import model as cart_model
from streams.common import idempotency
from streams.context import model
from streams.exceptions import CorruptState

if TYPE_CHECKING:
    import faust

    from streams.app import Runtime

TABLE_NAME = "context_by_customer"


@dataclass(frozen=True, slots=True)
class ProfileState:
    """What the table holds for one canonical id."""

    ctx: model.Context
    seen: idempotency.Seen
    kind: str
    # merge id -> the snapshot a loser shipped (what an unmerge gives back), newest last
    absorbed: Mapping[str, str] = field(default_factory=dict)
    cart: cart_model.Cart | None = None


ABSORBED_BOUND = 4  # merges of one profile that can still be undone with their history


def with_absorbed(state: ProfileState, merge_id: str, snapshot: str) -> ProfileState:
    """``state`` remembering a loser's snapshot; the oldest beyond the bound is dropped."""
    absorbed = {k: v for k, v in state.absorbed.items() if k != merge_id}
    absorbed[merge_id] = snapshot
    while len(absorbed) > ABSORBED_BOUND:
        del absorbed[next(iter(absorbed))]
    return replace(state, absorbed=absorbed)


def empty(canonical_id: str, kind: str) -> ProfileState:
    return ProfileState(model.Context(canonical_id), idempotency.Seen(), kind)


def encode(state: ProfileState) -> bytes:
    return orjson.dumps(
        {
            "ctx": model.to_state_dict(state.ctx),
            "seen": idempotency.to_state_dict(state.seen),
            "kind": state.kind,
            "absorbed": dict(state.absorbed),
            "cart": None if state.cart is None else cart_model.to_state_dict(state.cart),
        }
    )


def decode(data: bytes) -> ProfileState:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CorruptState(f"{TABLE_NAME} holds a {type(data).__name__}, not bytes")
    raw: dict[str, Any] = orjson.loads(data)
    return ProfileState(
        model.from_state_dict(raw["ctx"]),
        idempotency.from_state_dict(raw["seen"]),
        raw.get("kind") or "",
        dict(raw.get("absorbed") or {}),
        None if raw.get("cart") is None else cart_model.from_state_dict(raw["cart"]),
    )


def context_table(
    app: faust.App, runtime: Runtime, partitions: int
) -> faust.types.TableT[Any, Any]:
    return app.Table(
        TABLE_NAME,
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
        options=runtime.table_options(),
        help="customer context and cart per canonical id, with recently applied event ids",
    )
