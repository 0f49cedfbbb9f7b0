"""Dead letters: the original bytes, and why, in headers; the stream goes on.

Modelled on confluent-kafka's DLQ action: the failed record is copied as it
was (key and value bytes untouched) with context headers, acks=all, so an
operator can fix and replay it. Faust agents that raise die silently
(faust #175, robinhood #586), so agents never let a bad record raise: they hand
it here and continue with its neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from schemas.catalogue import DEAD_LETTERS

if TYPE_CHECKING:
    from schemas.settings import Settings
    from streams.metrics import Metrics
    from streams.output import Output

REASON_HEADER = "omni.error.reason"


class DeadLetters:
    """Sends poison records to ``omni.dlq`` through the app's producer."""

    def __init__(self, out: Output, settings: Settings, metrics: Metrics) -> None:
        self._out = out
        self._topic = DEAD_LETTERS.physical(settings.topics.prefix)
        self._metrics = metrics
        self.processor = settings.streams.app_id

    async def send(
        self,
        *,
        key: bytes | None,
        value: bytes | None,
        topic: str,
        partition: int,
        offset: int,
        reason: str,
        error: BaseException | str,
    ) -> None:
        """Copy one failed record to the dead-letter topic with its context."""
        headers: Sequence[tuple[str, bytes]] = [
            (
                "omni.error.type",
                (type(error).__name__ if isinstance(error, BaseException) else reason).encode(),
            ),
            ("omni.error.message", str(error)[:1000].encode()),
            (REASON_HEADER, reason.encode()),
            ("omni.source.topic", topic.encode()),
            ("omni.source.partition", str(partition).encode()),
            ("omni.source.offset", str(offset).encode()),
            ("omni.processor", self.processor.encode()),
        ]
        await self._out.send(self._topic, key, value, headers)
        self._metrics.dead_letters.labels(reason=reason, topic=topic).inc()
