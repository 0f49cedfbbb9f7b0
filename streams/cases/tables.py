"""The ``cases_by_id`` table: one service case (or a call with no case) and its seen event ids.

Keyed like ``omni.service.cases`` (case id, else call id; UTF-8 bytes, orjson
values, raw serialisers both ways), so table and topic are co-partitioned.

Never rename the table: its changelog topic is ``<app id>-cases_by_id-changelog``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from streams.cases import model
from streams.common import idempotency
from streams.exceptions import CorruptState

if TYPE_CHECKING:
    import faust

    from streams.app import Runtime

TABLE_NAME = "cases_by_id"


@dataclass(frozen=True, slots=True)
class CaseState:
    """What the table holds for one key (``case`` is None only before its first event)."""

    case: model.Case | None
    seen: idempotency.Seen = field(default_factory=idempotency.Seen)


def encode(state: CaseState) -> bytes:
    case = model.to_state_dict(state.case) if state.case is not None else None
    return orjson.dumps({"case": case, "seen": idempotency.to_state_dict(state.seen)})


def decode(data: bytes) -> CaseState:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CorruptState(f"{TABLE_NAME} holds a {type(data).__name__}, not bytes: {data!r:.80}")
    raw: dict[str, Any] = orjson.loads(data)
    case = model.from_state_dict(raw["case"]) if raw.get("case") else None
    return CaseState(case, idempotency.from_state_dict(raw["seen"]))


def cases_table(app: faust.App, runtime: Runtime, partitions: int) -> faust.types.TableT[Any, Any]:
    return app.Table(
        TABLE_NAME,
        # Faust derives the store's serialisers from these types only: bytes is raw both ways.
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
        options=runtime.table_options(),
        help="service cases by case id (or call id), with recently applied event ids",
    )
