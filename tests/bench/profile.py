"""Where a worker's time goes: a py-spy raw profile summarised by category and by leaf frame.

The categories follow the processors' structure (decode, rules, table reads
and writes, produce, Faust dispatch); a sample is charged to the first
category in the list that any frame of its stack matches.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("Avro decode (FastDecoder)", ("FastDecoder.decode",)),
    ("Avro encode (FastEncoder)", ("FastEncoder.encode",)),
    (
        "table writes (store: RocksDB put, changelog send)",
        ("ManagedUserDict.__setitem__", "__delitem__"),
    ),
    (
        "table reads (RocksDB get, orjson decode)",
        ("Mapping.get (", "__getitem__ (", ".load (", ".decode (streams"),
    ),
    (
        "rules (identity, context, carts, stock, orders)",
        ("rules.py", "model.py", "saga.py", "idempotency.py"),
    ),
    ("view and command sends (producer buffer)", ("Topic.send", "ProducerBuffer", "_on_published")),
    ("producer flush, aiokafka produce", ("producer.flush", "aiokafka/producer")),
    ("aiokafka fetch and record parsing", ("aiokafka/consumer", "ConsumerThread")),
    ("metrics (prometheus labels/inc)", ("prometheus_client",)),
    ("agent code (processors)", ("streams/",)),
    ("Faust (conductor, streams, tables, commit)", ("faust/",)),
]
EVENT_LOOP = ("asyncio/", "selectors.py", "aiokafka/conn", "aiokafka/protocol", "aiokafka/client")


def summarize(raw: Path, top: int = 15) -> str:
    """Share of samples per category and the hottest leaf frames."""
    by_category: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        by_leaf[frames[-1]] += count
        by_category[category(frames)] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples (py-spy, all threads, idle excluded)"]
    for name, count in by_category.most_common():
        lines.append(f"  {100 * count / total:5.1f}%  {name}")
    lines.append("top leaf frames:")
    for frame, count in by_leaf.most_common(top):
        lines.append(f"  {100 * count / total:5.1f}%  {frame[:120]}")
    return "\n".join(lines)


def category(frames: list[str]) -> str:
    for name, patterns in CATEGORIES:
        if any(pattern in frame for frame in frames for pattern in patterns):
            return name
    if any(pattern in frames[-1] for pattern in EVENT_LOOP):
        return "event loop, sockets"
    return "other"
