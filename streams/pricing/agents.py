"""Every worker reads all of ``omni.pricing.prices`` into its :class:`PriceBook`.

Not a Faust agent: an agent's partitions are shared out across workers, but
every worker needs every price. So a plain aiokafka consumer with no group
(manual assignment of all partitions, from the beginning of the compacted
topic) runs as a Faust task next to the agents, in the same event loop, and
keeps reading. Records that cannot be decoded are not the book's to judge
alone: each worker would dead-letter the same record, so they are counted
(``omni_events_total{outcome="dead_letter"}`` on the prices topic) and logged;
the inventory feed validates prices at the door.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.catalogue import PRICES
from schemas.exceptions import DecodeError
from streams.pricing.book import PriceBook, point_of

if TYPE_CHECKING:
    import faust

    from streams.app import Runtime

log = logging.getLogger(__name__)
RECORD = "omni.pricing.PriceUpdated"


class PriceReader:
    """Feeds ``runtime.prices`` from the prices topic for as long as the worker runs."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.topic = PRICES.physical(runtime.settings.topics.prefix)

    def apply(self, value: bytes | None) -> str:
        """Fold one record into the book; returns the outcome label."""
        try:
            decoded = self.runtime.decoder.decode(value)
        except DecodeError as exc:
            log.warning("undecodable price record skipped: %s", exc)
            return "dead_letter"
        if decoded.record != RECORD:
            return "ignored"
        event = decoded.value
        changed = self.runtime.prices.apply(event["sku"], point_of(event))
        return "apply" if changed else "duplicate"

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.runtime.settings.kafka.bootstrap_servers,
            client_id=f"{self.runtime.settings.streams.worker_name}-prices",
            enable_auto_commit=False,
            group_id=None,
        )
        await consumer.start()
        try:
            # The catalogue created the topic with this count; asking the broker
            # would need topic metadata that a group-less consumer does not load.
            topics = self.runtime.settings.topics
            count = topics.partitions_override or PRICES.partitions
            consumer.assign([TopicPartition(self.topic, p) for p in range(count)])
            await consumer.seek_to_beginning()
            events = self.runtime.metrics.events
            while True:
                batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
                for records in batches.values():
                    for record in records:
                        events.labels(self.topic, "PriceUpdated", self.apply(record.value)).inc()
        finally:
            await consumer.stop()


def install(app: faust.App, runtime: Runtime) -> None:
    """Run the reader as a task of ``app`` (started and stopped with the worker)."""
    reader = PriceReader(runtime)
    app.task(reader.run)


__all__ = ["PriceBook", "PriceReader", "install"]
