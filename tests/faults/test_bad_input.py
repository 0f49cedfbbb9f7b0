"""Row 5 (Kafka door): bad records among good ones; every bad one dead-lettered, no good one lost.

Faust agents that raise on a record die silently (faust #175, robinhood
#586) and tombstones that fail to decode (robinhood #143) stop a stream, so
each kind of bad record is sent into four source topics, right behind a good
event of the same key. Report for K bad of N: DLQ = K, processed = N - K.

The HTTP door (the collector's and the service desk's 4xx answers) is row 5c,
:mod:`tests.faults.test_http_door`, and graceful shutdown of the collector is
row 8, :mod:`tests.faults.test_collector_sigterm`: both built on the same
:class:`~tests.faults.scenario.FaultRun` with the doors as the producer.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from schemas.catalogue import (
    CART_EVENTS,
    CUSTOMER_INTERACTIONS,
    DLQ_HEADERS,
    ORDER_EVENTS,
    STOCK_MOVEMENTS,
    Topic,
)
from streams.dlq import REASON_HEADER
from tests.faults.badinput import UNDECODABLE, Bad, invalid, undecodable
from tests.faults.conftest import FaultConfig
from tests.faults.pump import Sendable
from tests.faults.report import Row
from tests.faults.scenario import INPUTS, FaultRun
from tests.faults.verify import dead_letters
from tests.faults.workload import Outgoing, Workload
from tests.integration.support import ContractEnv

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
SHARE = 0.05
RATE = 1_000.0
TARGETS = (STOCK_MOVEMENTS, ORDER_EVENTS, CART_EVENTS, CUSTOMER_INTERACTIONS)
INVALID = (
    ("negative_quantity", STOCK_MOVEMENTS),
    ("negative_quantity", ORDER_EVENTS),
    ("negative_quantity", CART_EVENTS),
    ("blank_sku", STOCK_MOVEMENTS),
    ("blank_location", STOCK_MOVEMENTS),
)


# The good event a bad one is made from: one whose quantity is a positive count of units
# (an adjustment's may be negative, a cart removal has none).
MODELS: dict[str, Callable[[Outgoing], bool]] = {
    STOCK_MOVEMENTS.name: lambda e: e.value["kind"] == "received",
    ORDER_EVENTS.name: lambda e: e.record.endswith("OrderPlaced"),
    CART_EVENTS.name: lambda e: e.record.endswith("CartItemAdded"),
}


def good_of(events: Sequence[Outgoing], topic: Topic, rng: random.Random) -> int:
    """Index of a random good event of ``topic`` that a bad one can be made from."""
    fits = MODELS.get(topic.name, any_event)
    return rng.choice([n for n, e in enumerate(events) if e.topic == topic and fits(e)])


def any_event(_event: Outgoing) -> bool:
    return True


def interleave(goods: list[Sendable], bad: dict[int, list[Sendable]]) -> list[Sendable]:
    """Each bad record right behind the good one it was made from."""
    out = []
    for n, item in enumerate(goods):
        out.append(item)
        out += bad.get(n, [])
    return out


def check_dead_letters(run: FaultRun, bad: list[Sendable]) -> None:
    """Each bad record once in the DLQ, original bytes, every context header."""
    letters = dead_letters(run.env.settings, run.env.prefix)
    wanted = sorted((b.value or b"") for b in bad)
    got = sorted((m.value or b"") for m in letters)
    if got != wanted:
        run.row.problems.append(f"DLQ holds {len(got)} records, not the {len(wanted)} bad ones")
    for message in letters:
        names = {name for name, _ in message.headers}
        missing = set(DLQ_HEADERS) | {REASON_HEADER}
        if missing - names:
            run.row.problems.append(f"dead letter {message.offset} lacks {missing - names}")


def dead_lettered_by_metrics(run: FaultRun) -> float:
    """Records the worker counted as dead-lettered on the input topics."""
    names = {t.physical(run.env.prefix) for t in INPUTS}
    outcomes = run.fleet.outcomes("w1")
    return sum(v for (t, outcome), v in outcomes.items() if t in names and outcome == "dead_letter")


def start(run: FaultRun, events: int) -> tuple[Workload, list[Sendable]]:
    """One worker and a seeded workload; returns the workload and its events' bytes."""
    run.fleet.start("w1")
    workload = run.workload(events)
    run.seed_stock(workload)
    return workload, run.encode(workload.events)


def finish(run: FaultRun, bad: list[Sendable], seeded: int) -> None:
    """The row's checks beyond the views: the DLQ's content and the worker's own count."""
    check_dead_letters(run, bad)
    counted = dead_lettered_by_metrics(run)
    if counted != len(bad):
        run.row.problems.append(f"worker counted {counted:.0f} dead letters, not {len(bad)}")
    total = run.row.sent + seeded
    processed = total - len(bad) - run.row.lost
    run.row.figure = f"{len(bad)} bad of {total}: DLQ {run.row.dead_letters}, processed {processed}"


def test_undecodable_records_are_dead_lettered(
    fault_env: ContractEnv,
    fault_config: FaultConfig,
    fault_report: Callable[[Row], None],
    tmp_path: Path,
) -> None:
    row = Row("5a bad bytes, Kafka door", fault_config.seed)
    fault_report(row)
    run = FaultRun(fault_env, tmp_path, row)
    try:
        workload, goods = start(run, max(int(fault_config.events * SHARE), 2_000))
        events = workload.events
        rng = random.Random(fault_config.seed + 5)
        after: dict[int, list[Sendable]] = {}
        bad: list[Bad] = []
        for topic in TARGETS:
            for kind in UNDECODABLE:
                n = good_of(events, topic, rng)
                bad.append(undecodable(run.codec.decoder, rng, kind, goods[n]))
                after.setdefault(n, []).append(bad[-1].record)
        run.note(f"{len(bad)} bad records: {', '.join(UNDECODABLE)} on {len(TARGETS)} topics")
        pump = run.pump(interleave(goods, after), RATE)
        run.verify(workload, [pump], bad_records=len(bad))
        finish(run, [b.record for b in bad], len(workload.seeding))
    finally:
        run.close()
    assert run.clean(), "\n".join(row.problems)


def test_invalid_events_are_dead_lettered(
    fault_env: ContractEnv,
    fault_config: FaultConfig,
    fault_report: Callable[[Row], None],
    tmp_path: Path,
) -> None:
    row = Row("5b invalid values, Kafka door", fault_config.seed)
    fault_report(row)
    run = FaultRun(fault_env, tmp_path, row)
    try:
        workload, goods = start(run, max(int(fault_config.events * SHARE), 2_000))
        events = workload.events
        rng = random.Random(fault_config.seed + 6)
        after: dict[int, list[Sendable]] = {}
        bad: list[Sendable] = []
        for kind, topic in INVALID * 2:
            n = good_of(events, topic, rng)
            bad += run.encode([invalid(rng, kind, events[n])])
            after.setdefault(n, []).append(bad[-1])
        run.note(f"{len(bad)} invalid events: {', '.join(sorted({k for k, _ in INVALID}))}")
        pump = run.pump(interleave(goods, after), RATE)
        ids = frozenset(b.event_id for b in bad if b.event_id is not None)
        run.verify(workload, [pump], bad_ids=ids, bad_records=len(bad))
        finish(run, bad, len(workload.seeding))
    finally:
        run.close()
    assert run.clean(), "\n".join(row.problems)
