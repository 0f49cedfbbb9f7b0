"""Where B2's latency goes: each probe's delay per hop, from the records' own timestamps.

    python -m tests.bench.hops [--rate 1000] [--seconds 8]

Runs B2's load at one rate (a fresh worker and collector, as ``make bench``
does), then reads the topics a probed cart event crosses and takes, for each
probe SKU, the timestamp of the first record carrying it: the cart event as
the collector produced it, the same event re-keyed by stage 1 (identity)
onto ``omni.customer.by-canonical`` when it changed partition, and the cart
view stage 2 (profiles) emitted. Most probes stay on their partition and
are handed to stage 2 in process (:mod:`streams.identity.handoff`): for
them the one hop is cart event to view. A hop's delay is the difference;
the first is counted from the send's due time. Timestamps are the
producers' (CreateTime), so a hop includes the producer's linger but not
the broker's append.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from confluent_kafka import TopicPartition

from schemas.catalogue import CART_EVENTS, CART_VIEW, CUSTOMER_BY_CANONICAL
from schemas.settings import Settings
from tests.bench import latency
from tests.bench.env import BenchEnv, bench_env, broker_and_registry

HOPS = (
    ("collector to cart events", "due", "cart"),
    ("stage 1: resolve, re-key", "cart", "canonical"),
    ("stage 2: context, cart view", "canonical", "view"),
)
HANDED = ("stages 1+2 in process, cart view", "cart", "view")


def first_seen(env: BenchEnv, topic: str, probes: set[str]) -> dict[str, float]:
    """Each probe SKU's first record timestamp (seconds) in ``topic``."""
    consumer = env.consumer(None)
    seen: dict[str, float] = {}
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        idle = 0
        while idle < 3:
            messages = consumer.consume(5000, 1.0)
            idle = 0 if messages else idle + 1
            for message in messages:
                value = message.value()
                if message.error() or value is None:
                    continue
                at = message.timestamp()[1] / 1000
                for sku in probes - seen.keys():
                    if sku.encode() in value:
                        seen[sku] = at
    finally:
        consumer.close()
    return seen


def summary(delays: list[float]) -> str:
    if not delays:
        return "no probe crossed it"
    data = sorted(delays)

    def pick(q: float) -> float:
        return data[min(len(data) - 1, int(len(data) * q))]

    return f"p50 {pick(0.5):.0f} p90 {pick(0.9):.0f} p99 {pick(0.99):.0f} ms (n={len(data)})"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args(argv)
    with (
        broker_and_registry(Settings()) as settings,
        tempfile.TemporaryDirectory(prefix="omni-hops-") as tmp,
        bench_env(settings, Path(tmp)) as env,
    ):
        result = latency.measure(env, (args.rate,), args.seconds, 10.0)[args.rate]
        print(f"view p50/p99/max: {result.view()}")
        probes = set(result.probes)
        at = {
            "due": result.probes,
            "cart": first_seen(env, env.topic(CART_EVENTS), probes),
            "canonical": first_seen(env, env.topic(CUSTOMER_BY_CANONICAL), probes),
            "view": first_seen(env, env.topic(CART_VIEW), probes),
        }
        crossed = probes & at["canonical"].keys()
        handed = probes - crossed
        print(f"{len(crossed)} probes crossed omni.customer.by-canonical, {len(handed)} did not")
        hops = [(HOPS[0], probes), (HOPS[1], crossed), (HOPS[2], crossed), (HANDED, handed)]
        for (name, start, end), which in hops:
            delays = [
                1000 * (at[end][sku] - at[start][sku])
                for sku in which
                if sku in at[start] and sku in at[end]
            ]
            print(f"{name:34} {summary(delays)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
