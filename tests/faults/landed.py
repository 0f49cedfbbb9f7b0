"""What the HTTP doors got into Kafka, counted by event id (rows 5c and 8).

A door's promise is per event: each event of a request answered 200 is on
its topic exactly once. So the rows count ids rather than records, reading
``read_committed`` from the start of the topics, as a downstream reader would.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from schemas.catalogue import Topic
from streams.common.events import event_id_text
from tests.faults.kafka_io import read_all
from tests.faults.scenario import FaultRun


def everything(_envelope: Mapping[str, Any]) -> bool:
    return True


def event_ids(
    run: FaultRun,
    topics: Sequence[Topic],
    keep: Callable[[Mapping[str, Any]], bool] = everything,
) -> dict[str, Counter[str]]:
    """How often each event id whose envelope ``keep`` accepts is on each topic (catalogue name).

    One read for all the topics: each read waits on every partition's watermark.
    """
    found: dict[str, Counter[str]] = {t.name: Counter() for t in topics}
    names = [t.physical(run.env.prefix) for t in topics]
    for message in read_all(run.env.settings.kafka, names):
        assert message.value is not None, f"tombstone on {message.topic}"
        envelope = run.codec.decoder.decode(message.value).value["envelope"]
        if keep(envelope):
            topic = message.topic.removeprefix(run.env.prefix)
            found[topic][event_id_text(envelope["event_id"])] += 1
    return found
