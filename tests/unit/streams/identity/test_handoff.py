"""Which of a stage-1 run's records stage 2 applies in process, in which order, and what is sent.

Stage 2 is a recorder here; partitions are given by a table rather than
murmur2, so that each case says which key lives where.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from schemas.codec import Decoded
from streams.batching import RawRecord
from streams.identity.handoff import PROFILE_COMMAND, Handoff

PARTITION = {"C1": 3, "C2": 3, "A9": 5}
HEADERS = [("omni.canonical-id", b"x")]


@dataclass
class Stage:
    """A ProfileStage that logs what it is asked to do."""

    topic_name: str = "omni.customer.by-canonical"
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    log: list[Any] = field(default_factory=list)

    def owns(self, partition: int) -> bool:
        return True

    def partition_of(self, key: str) -> int:
        return PARTITION[key]

    def begin(self) -> list[Any]:
        self.log.append("begin")
        return []

    async def apply_decoded(
        self, batch: Any, record: RawRecord, key: str, kind: str, decoded: Decoded
    ) -> None:
        batch.append((key, kind, decoded.record, record.offset))

    async def flush(self, batch: Any) -> None:
        self.log.append(("flush", list(batch)))

    def store(self, batch: Any) -> None:
        self.log.append(("store", len(batch)))


class Codec:
    """Encodes a command to JSON and decodes it back, as the wire round trip would."""

    def encode(self, topic: str, record: str, value: dict[str, Any]) -> bytes:
        return json.dumps([record, value]).encode()

    def decode(self, data: bytes) -> Decoded:
        record, value = json.loads(data)
        return Decoded(1, record, value)


def record(offset: int) -> RawRecord:
    return RawRecord("omni.customer.interactions", 3, offset, b"C1", b"bytes", 0)


def forward(handoff: Handoff, sent: list[Any], key: str, offset: int) -> None:
    sent.append((key, b"bytes", HEADERS))
    decoded = Decoded(1, "omni.customer.ProductViewed", {"n": offset})
    handoff.keep(len(sent) - 1, record(offset), "customer", decoded)


def test_the_runs_own_partition_is_applied_in_order_and_the_rest_is_sent_in_order() -> None:
    stage = Stage()
    handoff = Handoff(stage, partition=3)
    sent: list[Any] = []
    forward(handoff, sent, "C1", 10)
    sent.append(("A9", {"command": "merge_out"}, None))  # another partition: sent
    sent.append(("C2", {"command": "identifiers"}, None))  # this partition: applied
    forward(handoff, sent, "A9", 11)  # re-keyed to another partition: sent
    forward(handoff, sent, "C1", 12)
    codec = Codec()
    rest = asyncio.run(handoff.apply(sent, record(12), codec, codec))  # type: ignore[arg-type]
    assert rest == [sent[1], sent[3]]
    applied = stage.log[1][1]
    assert [(key, name, offset) for key, _, name, offset in applied] == [
        ("C1", "omni.customer.ProductViewed", 10),
        ("C2", PROFILE_COMMAND, 12),  # a command counts against the run's last record
        ("C1", "omni.customer.ProductViewed", 12),
    ]
    assert {kind for _, kind, *_ in applied} == {"customer", ""}  # commands carry their own
    assert stage.log == ["begin", ("flush", applied)]
    handoff.store()
    assert stage.log[-1] == ("store", 3)


def test_a_forward_whose_source_was_not_kept_is_sent_not_applied() -> None:
    stage = Stage()
    handoff = Handoff(stage, partition=3)
    sent = [("C1", b"bytes", HEADERS)]
    codec = Codec()
    rest = asyncio.run(handoff.apply(sent, record(1), codec, codec))  # type: ignore[arg-type]
    assert rest == sent
    handoff.store()
    assert stage.log == []  # no batch begun, nothing flushed or stored
