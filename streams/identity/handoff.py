"""Stage 1 hands stage 2 the records of its own partition, in process, instead of through Kafka.

Most customer events are keyed by the id that is already their profile's
canonical id (a known customer, or an anonymous visitor not merged yet).
Re-keyed, such a record lands on the same partition of
``omni.customer.by-canonical`` as the one stage 1 read it from, and Faust
assigns that partition of stage 2 to the same worker (co-subscribed topics
with equal partition counts are co-partitioned). Sending it through the
broker only to read it back costs a produce, a fetch, a second Avro decode
and a second run: about a sixth of a worker's time on the mixed workload,
and one hop of latency.

So at the end of a run of partition ``p``, every stage-2 record the run
produced whose key hashes to ``p`` (forwards and commands alike, in the order
they were produced) is applied by stage 2's own code, in the same run: its
views are emitted with the run's other emissions, and its state is written
with stage 1's, after the same flush (the outbox order of
:mod:`streams.processor`). The rest still goes through the topic.

Why this keeps the guarantees
-----------------------------
* **Order.** Stage 2 sees, per source, records in the order that source
  produced them; records of different sources interleave in any order, as
  they always did on the topic. Stage 1's partition ``p`` sends nothing to
  partition ``p`` of the topic any more, so its own records cannot overtake
  each other. (Records that an older version sent there before an upgrade
  may be applied after newer ones, once.)
* **No lost update.** Stage 2 caches state per run across its flush; the
  two stages take stage 2's lock for a whole round so that neither writes a
  key the other holds.
* **Crashes and rebalances.** The handed records' state is written only
  once stage 1's emissions are acknowledged, and not at all if the partition
  was revoked meanwhile. Stage 1 writes its own keys and watermark only after
  the handed state's changelog records are acknowledged
  (:class:`streams.processor.Writes`): stage 1 skips a rerun by those (its
  watermark, the event ids of its keys), so a crash between two changelogs
  that landed stage 1's writes and not stage 2's lost the handed state for
  good (the fault suite's crash row, one customer's orders). A run applied
  again is deduplicated by the event ids stage 2 keeps per key, as a
  redelivery from the topic would be.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from schemas.codec import Decoded, FastDecoder, FastEncoder
from streams.transport.batch import RawRecord as Record

PROFILE_COMMAND = "omni.internal.ProfileCommand"
Sent = tuple[str, Any, Sequence[tuple[str, bytes]] | None]


class ProfileStage(Protocol):
    """What stage 1 needs of stage 2 (:class:`streams.context.agents.ProfileProcessor`)."""

    lock: asyncio.Lock
    topic_name: str

    def owns(self, partition: int) -> bool: ...

    def partition_of(self, key: str) -> int: ...

    def begin(self) -> Any: ...

    async def apply_decoded(
        self, batch: Any, record: Record, key: str, kind: str, decoded: Decoded
    ) -> None: ...

    async def flush(self, batch: Any) -> None: ...

    def store(self, batch: Any) -> None: ...


@dataclass
class Forwarded:
    """A forward's source record and what stage 1 already decoded of it."""

    record: Record
    kind: str
    decoded: Decoded


@dataclass
class Handoff:
    """One stage-1 run's records for stage 2: which are applied here, and stage 2's batch."""

    stage: ProfileStage
    partition: int
    forwarded: dict[int, Forwarded] = field(default_factory=dict)
    batch: Any = None

    def keep(self, index: int, record: Record, kind: str, decoded: Decoded) -> None:
        """Remember the decoded source of ``work.profiles[index]``, a forward."""
        self.forwarded[index] = Forwarded(record, kind, decoded)

    async def apply(
        self,
        sent: Sequence[Sent],
        last: Record,
        encoder: FastEncoder,
        decoder: FastDecoder,
    ) -> list[Sent]:
        """Apply what belongs to this partition, in order; return what must still be sent.

        Commands are encoded and decoded again so that stage 2 reads exactly
        what it would have read from the topic (defaults, logical types).
        """
        stage, rest = self.stage, []
        for index, (key, body, headers) in enumerate(sent):
            forwarded = self.forwarded.get(index)
            mine = stage.partition_of(key) == self.partition
            if not mine or (headers is not None and forwarded is None):
                rest.append((key, body, headers))
                continue
            if self.batch is None:
                self.batch = stage.begin()
            if forwarded is not None:
                record, kind, decoded = forwarded.record, forwarded.kind, forwarded.decoded
            else:
                data = encoder.encode(stage.topic_name, PROFILE_COMMAND, body)
                record, kind, decoded = last, "", decoder.decode(data)
            await stage.apply_decoded(self.batch, record, key, kind, decoded)
        if self.batch is not None:
            await stage.flush(self.batch)
        return rest

    def store(self) -> None:
        if self.batch is not None:
            self.stage.store(self.batch)
