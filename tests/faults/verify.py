"""The verifier: read the views like a channel would, replay the input, compare key by key.

Expected values go through the same Avro encoder and decoder as the real
ones, so the comparison is of what a reader sees (timestamps, enums, unions
decoded alike) and never of Python object quirks.

Figures
    *lost* and *double-applied* count applied changes, from the views'
    per-key ``version``: a view one version short lost one change, one
    version ahead applied one twice; a missing key lost all of its changes.
    *differing keys* counts every key whose view is not the expected one,
    whatever the field.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.catalogue import (
    CART_VIEW,
    CUSTOMER_CONTEXT_VIEW,
    DEAD_LETTERS,
    ORDER_VIEW,
    STOCK_LEVEL_VIEW,
    Topic,
    topic,
)
from schemas.codec import FastDecoder, FastEncoder
from schemas.exceptions import DecodeError
from schemas.settings import Settings
from tests.faults.kafka_io import Message, TopicReader, read_all
from tests.faults.replay import VIEW_RECORDS, Expected, InputEvent, Replay

# Views whose version counts applied changes one for one (totals sum their levels').
COUNTED_VIEWS = (STOCK_LEVEL_VIEW.name, CART_VIEW.name, ORDER_VIEW.name, CUSTOMER_CONTEXT_VIEW.name)
SAMPLE_DIFFS = 5
IDLE_S = 30.0
Views = dict[str, dict[str, dict[str, Any]]]


@dataclass
class Comparison:
    """The verdict for one moment: which keys differ and by how many changes."""

    keys: int = 0
    lost: int = 0
    doubled: int = 0
    differing: list[str] = field(default_factory=list)
    by_view: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.differing


@dataclass
class Codec:
    """Encoder and decoder on the run's prefixed topics."""

    prefix: str
    encoder: FastEncoder
    decoder: FastDecoder

    def normalise(self, view: str, value: Mapping[str, Any]) -> dict[str, Any]:
        data = self.encoder.encode(f"{self.prefix}{view}", VIEW_RECORDS[view], dict(value))
        return self.decoder.decode(data).value

    def normalised(self, expected: Expected) -> Views:
        """Every expected view as a reader decodes it; tombstones (None) left out."""
        return {
            view: {k: self.normalise(view, v) for k, v in values.items() if v is not None}
            for view, values in expected.views.items()
        }

    def read_input(self, messages: Iterable[Message]) -> dict[tuple[str, int], list[InputEvent]]:
        """Decoded input events per partition, in offset order; undecodable ones are skipped."""
        out: dict[tuple[str, int], list[InputEvent]] = defaultdict(list)
        for message in messages:
            try:
                decoded = self.decoder.decode(message.value)
            except DecodeError:  # bad input is the dead-letter check's business, not the replay's
                continue
            name = message.topic.removeprefix(self.prefix)
            out[(name, message.partition)].append(InputEvent(name, decoded.record, decoded.value))
        return out


def replay_input(
    settings: Settings,
    codec: Codec,
    inputs: Sequence[Topic],
    buyers: set[str],
    exclude: frozenset[str] = frozenset(),
) -> tuple[Expected, set[str]]:
    """Read every input topic back and replay it; also returns the event ids found there."""
    names = [t.physical(codec.prefix) for t in inputs]
    by_partition = codec.read_input(read_all(settings.kafka, names))
    replay = Replay(buyers)
    present: set[str] = set()
    order = {t.name: n for n, t in enumerate(inputs)}  # stock first: seeding precedes orders
    for _, events in sorted(by_partition.items(), key=lambda item: (order[item[0][0]], item[0][1])):
        present.update(e.event_id for e in events)
        replay.feed(e for e in events if e.event_id not in exclude)
    return replay.expected(), present


def compare(
    wanted: Views,
    unversioned: set[tuple[str, str]],
    actual: Mapping[tuple[str, str], dict[str, Any] | None],
) -> Comparison:
    """Key by key over every view; ``wanted`` as from :meth:`Codec.normalised`."""
    result = Comparison()
    got_by_view: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for (view, key), value in actual.items():
        if value is not None:
            got_by_view[view][key] = value
    for view, want in wanted.items():
        got = got_by_view[view]
        for key in sorted(set(want) | set(got)):
            result.keys += 1
            loose = (view, key) in unversioned
            _compare_key(result, view, key, want.get(key), got.get(key), loose)
    return result


def describe(want: Mapping[str, Any] | None, got: Mapping[str, Any] | None) -> str:
    """The fields that differ, each as ``name: wanted -> got``."""
    if want is None or got is None:
        return "missing" if got is None else "not expected"
    names = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
    return "; ".join(f"{k}: {want.get(k)!r:.200} -> {got.get(k)!r:.200}" for k in names)


def _compare_key(
    result: Comparison,
    view: str,
    key: str,
    want: dict[str, Any] | None,
    got: dict[str, Any] | None,
    loose: bool,
) -> None:
    if loose and want is not None and got is not None:
        want = {k: v for k, v in want.items() if k != "version"}
        got = {k: v for k, v in got.items() if k != "version"}
    if want == got:
        return
    result.differing.append(f"{view}/{key}")
    result.by_view[view] = result.by_view.get(view, 0) + 1
    if result.by_view[view] <= SAMPLE_DIFFS:
        result.samples.append(f"{view}/{key}: {describe(want, got)}")
    if view not in COUNTED_VIEWS or loose:
        return
    delta = int((got or {}).get("version", 0)) - int((want or {}).get("version", 0))
    if delta > 0:
        result.doubled += delta
    else:
        result.lost -= delta


class ViewWatcher:
    """Keeps the latest value of every view key, read_committed, and waits for convergence."""

    def __init__(self, settings: Settings, codec: Codec) -> None:
        self.codec = codec
        names = [f"{codec.prefix}{view}" for view in VIEW_RECORDS]
        self.reader = TopicReader(settings.kafka, names)
        self.latest: dict[tuple[str, str], dict[str, Any] | None] = {}
        self.last_change = time.monotonic()

    def drain(self) -> bool:
        """Read what is there now; True when up to the current watermarks."""
        ends = self.reader.high_watermarks()
        deadline = time.monotonic() + 10
        while not self.reader.caught_up(ends) and time.monotonic() < deadline:
            for message in self.reader.poll():
                view = message.topic.removeprefix(self.codec.prefix)
                key = (message.key or b"").decode()
                value = (
                    None
                    if message.value is None
                    else self.codec.decoder.decode(message.value).value
                )
                self.latest[(view, key)] = value
                self.last_change = time.monotonic()
        return self.reader.caught_up(ends)

    def converge(
        self, expected: Expected, timeout_s: float, idle_s: float = IDLE_S
    ) -> tuple[Comparison, float]:
        """Poll until the views equal ``expected``; (verdict, seconds waited).

        Gives up after ``timeout_s``, or once no view changed for ``idle_s``
        (the processors are done, and what differs stays different).
        """
        started = self.last_change = time.monotonic()
        wanted = self.codec.normalised(expected)
        while True:
            caught_up = self.drain()
            result = compare(wanted, expected.unversioned, self.latest)
            now = time.monotonic()
            if caught_up and result.equal:
                return result, now - started
            if now - started > timeout_s or now - self.last_change > idle_s:
                return result, now - started
            time.sleep(1.0)

    def close(self) -> None:
        self.reader.close()


def dead_letters(settings: Settings, prefix: str) -> list[Message]:
    return read_all(settings.kafka, [topic(DEAD_LETTERS.name).physical(prefix)])
