"""When a view differs, ask the worker's query API what its *table* holds for that key.

The API reads the table, the view topic is what was emitted from it: if the
table agrees with the replay and the view does not, an emission was lost; if
both disagree, the state itself is wrong. That one line of evidence is what
turns "a key differs" into a diagnosis.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from schemas.catalogue import (
    CART_VIEW,
    CUSTOMER_CONTEXT_VIEW,
    ORDER_VIEW,
    STOCK_LEVEL_VIEW,
    STOCK_TOTAL_VIEW,
)
from schemas.settings import KafkaSettings
from streams.processor import WATERMARK_PREFIX
from tests.faults.kafka_io import Message, TopicReader, reader_config

PER_VIEW = 3


def api_path(view: str, key: str) -> str:
    """The query-API path that serves ``key`` of ``view``."""
    if view == STOCK_LEVEL_VIEW.name:
        sku, _, location = key.partition("@")
        return f"/v1/stock/{sku}/{location}"
    paths = {
        STOCK_TOTAL_VIEW.name: "/v1/stock/{}",
        ORDER_VIEW.name: "/v1/orders/{}",
        CART_VIEW.name: "/v1/carts/{}",
        CUSTOMER_CONTEXT_VIEW.name: "/v1/customers/{}/context",
    }
    return paths[view].format(key)


def table_versions(
    base_url: str,
    differing: list[str],
    wanted: Mapping[str, Mapping[str, Mapping[str, Any]]],
    latest: Mapping[tuple[str, str], Mapping[str, Any] | None],
) -> list[str]:
    """One line per sampled key: the version expected, in the view, and in the table."""
    lines: list[str] = []
    per_view: dict[str, int] = {}
    for item in differing:
        view, _, key = item.partition("/")
        per_view[view] = per_view.get(view, 0) + 1
        if per_view[view] > PER_VIEW:
            continue
        want = (wanted.get(view) or {}).get(key) or {}
        got = latest.get((view, key)) or {}
        try:
            answer = httpx.get(f"{base_url}{api_path(view, key)}", timeout=10)
            table: Any = answer.json() if answer.status_code == 200 else answer.status_code
        except httpx.HTTPError as exc:
            table = f"no answer ({exc})"
        if isinstance(table, dict) and isinstance(table.get("total"), dict):
            table = table["total"]  # /v1/stock/{sku} answers the total next to the levels
        table_version = table.get("version") if isinstance(table, dict) else table
        verdict = "emission lost" if table_version == want.get("version") else "state differs"
        lines.append(
            f"{view}/{key}: version expected {want.get('version')}, view {got.get('version')}, "
            f"table {table_version} -> {verdict}"
        )
    return lines


def watermark_regressions(kafka: KafkaSettings, app_id: str, limit: int = 12) -> list[str]:
    """Where a table's offset watermark went back in its changelog: a write from stale state.

    Each processor writes, with every run's state, the last source offset it
    applied (``streams.processor.watermark_key``). In a changelog partition
    those values only grow while one owner follows another with the state it
    left; a value lower than an earlier one means a worker applied runs on a
    table that missed the previous owner's writes (a zombie write after a
    revoke, or a restore that stopped short).
    """
    from confluent_kafka import Consumer

    consumer = Consumer(reader_config(kafka))
    try:
        names = consumer.list_topics(timeout=30).topics
    finally:
        consumer.close()
    changelogs = [n for n in names if n.startswith(app_id) and n.endswith("-changelog")]
    reader = TopicReader(kafka, changelogs)
    try:
        records = reader.read_to_end()
    finally:
        reader.close()
    last: dict[tuple[str, int, bytes], tuple[int, Message]] = {}
    out: list[str] = []
    for record in records:
        if not record.key or not record.key.startswith(WATERMARK_PREFIX) or record.value is None:
            continue
        where = (record.topic, record.partition, record.key)
        value = int(record.value)
        before = last.get(where)
        if before is not None and value < before[0]:
            table = record.topic.removeprefix(f"{app_id}-").removesuffix("-changelog")
            source = record.key.removeprefix(WATERMARK_PREFIX).decode()
            out.append(
                f"{table}[{record.partition}] watermark of {source} went back from {before[0]} "
                f"({_where(before[1])}) to {value} ({_where(record)})"
            )
        last[where] = (value, record)
    return out[:limit]


def _where(record: Message) -> str:
    """Offset and wall-clock write time of a record, to line up with the worker logs."""
    millis = record.timestamp_ms
    when = time.strftime("%H:%M:%S", time.gmtime(millis / 1000))
    return f"offset {record.offset}, {when}.{millis % 1000:03d}"
