"""What every domain's batch processor shares: the batch loop, counting, dead letters.

A processor only says how to apply one partition's events
(:meth:`BatchProcessor.apply_partition`); the loop that takes batches from the
stream and splits them by partition, the outcome counter and the dead-letter
hand-off are the same for all of them.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

from streams.batching import RawRecord, batches, by_partition

if TYPE_CHECKING:
    from faust.types import EventT, StreamT

    from streams.app import Runtime


class BatchProcessor(abc.ABC):
    """Base of the domain processors; ``runtime`` is set by the subclass."""

    runtime: Runtime

    async def run(self, stream: StreamT[Any]) -> None:
        """The agent body: batches, split by source partition, applied in order."""
        streams = self.runtime.settings.streams
        async for events in batches(stream, streams.batch_max_records, streams.batch_max_wait_s):
            for group in by_partition(events).values():
                await self.apply_partition(group)

    @abc.abstractmethod
    async def apply_partition(self, events: list[EventT[Any]]) -> None:
        """Apply one partition's slice of a batch: decode, rules, write, emit."""

    def count(self, record: RawRecord, name: str, outcome: str) -> None:
        self.runtime.metrics.events.labels(record.topic, name, outcome).inc()

    async def dead_letter(self, record: RawRecord, reason: str, error: BaseException | str) -> None:
        """Hand a poison record to the dead-letter topic; the batch goes on."""
        self.count(record, "unknown", "dead_letter")
        await self.runtime.dead_letters.send(
            key=record.key,
            value=record.value,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason,
            error=error,
        )
