"""The harness itself, without Kafka: the workload replays exactly, the verifier can fail."""

from __future__ import annotations

import itertools
import random
from typing import Any

from schemas.catalogue import CART_VIEW, STOCK_LEVEL_VIEW
from schemas.settings import KafkaSettings
from tests.faults.pump import Pump, Sendable
from tests.faults.replay import InputEvent, Replay
from tests.faults.test_duplicates import COPIES, tripled
from tests.faults.test_worker_crash import RECOVERY_S, kill_points, stream_seconds
from tests.faults.verify import compare
from tests.faults.workload import Outgoing, generate


def replayed(events: list[Outgoing], buyers: set[str]) -> dict[str, dict[str, dict[str, Any]]]:
    replay = Replay(buyers)
    replay.feed(InputEvent(e.topic.name, e.record, e.value) for e in events)
    views = replay.expected().views
    return {
        view: {k: v for k, v in values.items() if v is not None} for view, values in views.items()
    }


def as_actual(
    views: dict[str, dict[str, dict[str, Any]]],
) -> dict[tuple[str, str], dict[str, Any] | None]:
    return {(view, key): value for view, values in views.items() for key, value in values.items()}


def test_same_seed_same_events_other_seed_other_ids() -> None:
    first, again, other = generate(3, 500), generate(3, 500), generate(4, 500)
    assert [(e.key, e.value) for e in first.events] == [(e.key, e.value) for e in again.events]
    assert {e.event_id for e in first.events}.isdisjoint(e.event_id for e in other.events)


def test_every_event_has_an_id_and_a_sequence() -> None:
    events = generate(5, 300).events
    assert len({e.event_id for e in events}) == len(events)
    assert all(e.value["envelope"]["sequence"] >= 1 for e in events)


def test_views_equal_their_own_replay() -> None:
    workload = generate(6, 2_000)
    events = workload.seeding + workload.events
    wanted = replayed(events, workload.buyers)
    result = compare(wanted, set(), as_actual(wanted))
    assert result.equal
    assert result.keys > 500


def test_a_lost_event_shows_as_lost() -> None:
    workload = generate(7, 2_000)
    events = workload.seeding + workload.events
    lost = next(n for n, e in enumerate(events) if e.record.endswith("CartItemAdded"))
    wanted = replayed(events, workload.buyers)
    got = replayed(events[:lost] + events[lost + 1 :], workload.buyers)
    result = compare(wanted, set(), as_actual(got))
    assert result.lost >= 1
    assert any(d.startswith(CART_VIEW.name) for d in result.differing)


def test_an_event_applied_twice_shows_as_doubled() -> None:
    workload = generate(8, 2_000)
    events = workload.seeding + workload.events
    n = next(n for n, e in enumerate(events) if e.value.get("kind") == "received" and n > 600)
    twice = dict(events[n].value, envelope=dict(events[n].value["envelope"], event_id="0" * 32))
    again = Outgoing(events[n].topic, events[n].record, events[n].key, twice)
    wanted = replayed(events, workload.buyers)
    got = replayed([*events[: n + 1], again, *events[n + 1 :]], workload.buyers)
    result = compare(wanted, set(), as_actual(got))
    assert result.doubled >= 1
    assert any(d.startswith(STOCK_LEVEL_VIEW.name) for d in result.differing)


def test_tripled_keeps_order_and_sends_each_three_times() -> None:
    items = [Sendable("t", str(n).encode(), str(n).encode(), str(n)) for n in range(1_000)]
    sent = tripled(items, random.Random(1))
    assert len(sent) == COPIES * len(items)
    firsts = list(dict.fromkeys(s.event_id for s in sent))
    assert firsts == [i.event_id for i in items]


def test_kill_points_are_sorted_and_inside_the_stream() -> None:
    points = kill_points(random.Random(2), 100_000, 5)
    assert points == sorted(points)
    assert all(1_000 <= p < 90_000 for p in points)
    rate = 100_000 / stream_seconds(5)
    # one kill per recovery slot, each a few seconds of jitter after the slot's start
    assert min(b - a for a, b in itertools.pairwise(points)) > rate * (RECOVERY_S - 5)


def test_a_held_pump_trickles_from_its_hold_until_released() -> None:
    items = [Sendable("t", b"k", b"v", str(n)) for n in range(10)]
    pump = Pump(KafkaSettings(), items, rate=300.0, hold_at=6, trickle_rate=20.0)
    rates = []
    for sent in (0, 5, 6, 9):
        pump.sent = sent
        rates.append(pump._rate_now())
    pump.release()
    rates.append(pump._rate_now())
    assert rates == [300.0, 300.0, 20.0, 20.0, 300.0]
