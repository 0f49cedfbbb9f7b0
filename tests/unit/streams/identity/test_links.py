"""The cross-partition link protocol of ``identity_links``, run to quiescence in memory.

Each identifier value is its own "partition" with a FIFO of commands, like
the keys of ``omni.identity.links``; the simulation delivers commands of
different keys in random interleavings, so the survivor rule must give the
same graph whatever the order.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from typing import Any

import pytest

from streams.identity import tables
from streams.identity.rules import merge_id_for


class Cluster:
    """Entries by value and per-key queues of IdentityCommands; profile commands collected."""

    def __init__(self, seed: int = 0) -> None:
        self.entries: dict[str, tables.Entry] = {}
        self.queues: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self.profiles: list[tuple[str, Any]] = []
        self.rng = random.Random(seed)

    def work(self) -> tables.Work:
        return tables.Work(self.entries.get)

    def commit(self, work: tables.Work) -> None:
        self.entries.update(work.entries)
        for key, body in work.links:
            self.queues[key].append(body)
        self.profiles.extend((key, body) for key, body, _ in work.profiles)

    def event(self, key: tuple[str, str], others: list[tuple[str, str]], event_id: str) -> None:
        """What the resolver does for an event keyed by ``key`` naming ``others``."""
        work = self.work()
        entry = work.get(key[0]) or work.create(tables.singleton(*key))
        for other in others:
            why = {"cause_id": event_id, "at": 1, "reason": "login"}
            work.link("claim", other, tables.canonical_ref(entry), **why)
        self.commit(work)

    def run(self) -> None:
        while any(self.queues.values()):
            key = self.rng.choice([k for k, q in self.queues.items() if q])
            cmd = self.queues[key].popleft()
            work = self.work()
            tables.HANDLERS[cmd["command"]](work, cmd)
            self.commit(work)

    def canonical(self, value: str) -> str:
        return self.entries[value].canonical


def test_login_promotes_the_anonymous_profile_into_the_customer() -> None:
    cluster = Cluster()
    cluster.event(("anon-1", "anonymous"), [], "e1")
    cluster.event(("C-1", "customer"), [("anon-1", "anonymous")], "e2")
    cluster.run()
    assert cluster.canonical("anon-1") == "C-1"
    survivor = cluster.entries["C-1"]
    assert survivor.members == {"customer:C-1", "anonymous:anon-1"}
    assert survivor.merges[merge_id_for("e2", "anon-1")]["loser_id"] == "anon-1"
    outs = [(key, body["command"]) for key, body in cluster.profiles]
    assert ("anon-1", "merge_out") in outs


def test_login_keyed_by_the_anonymous_id_gives_the_same_graph() -> None:
    cluster = Cluster()
    cluster.event(("anon-1", "anonymous"), [("C-1", "customer")], "e2")
    cluster.run()
    assert cluster.canonical("anon-1") == cluster.canonical("C-1") == "C-1"
    assert cluster.entries["anon-1"].merged_into == "C-1"


@pytest.mark.parametrize("seed", range(20))
def test_any_delivery_order_converges_on_the_survivor_rule(seed: int) -> None:
    cluster = Cluster(seed)
    cluster.event(("anon-1", "anonymous"), [("dev-1", "device")], "e1")
    cluster.event(("anon-2", "anonymous"), [("email-2", "email")], "e2")
    cluster.event(("C-9", "customer"), [("anon-2", "anonymous")], "e3")
    cluster.event(("C-1", "customer"), [("anon-1", "anonymous")], "e4")
    cluster.event(("dev-1", "device"), [("email-2", "email")], "e5")  # one person after all
    cluster.run()
    values = ("anon-1", "anon-2", "dev-1", "email-2", "C-1", "C-9")
    assert {cluster.canonical(v) for v in values} == {"C-1"}  # customer, then smallest id
    assert cluster.entries["C-1"].members == {
        "customer:C-1", "customer:C-9", "anonymous:anon-1", "anonymous:anon-2",
        "device:dev-1", "email:email-2",
    }  # fmt: skip


def test_unmerge_gives_the_loser_its_keys_back_with_an_audit() -> None:
    cluster = Cluster()
    cluster.event(("C-2", "customer"), [("phone-2", "phone")], "e1")
    cluster.run()  # a key that joins the loser only after the merge stays with the survivor
    cluster.event(("C-1", "customer"), [("C-2", "customer")], "e2")
    cluster.run()
    assert cluster.canonical("phone-2") == "C-1"
    merge_id = merge_id_for("e2", "C-2")
    work = cluster.work()
    why = {"cause_id": "e3", "at": 2, "reason": "shared account", "requested_by": "agent-7"}
    work.link("unmerge", ("C-1", "customer"), ("C-1", "customer"), merge_id=merge_id, **why)
    cluster.commit(work)
    cluster.run()
    assert cluster.canonical("C-2") == "C-2"
    assert cluster.canonical("phone-2") == "C-2"
    assert cluster.entries["C-1"].members == {"customer:C-1"}
    undone = cluster.entries["C-1"].merges[merge_id]["undone"]
    assert (undone["requested_by"], undone["reason"]) == ("agent-7", "shared account")
    assert ("C-2", "unmerged") in [(k, b["command"]) for k, b in cluster.profiles]


def test_an_unknown_merge_id_is_rejected() -> None:
    cluster = Cluster()
    cluster.event(("C-1", "customer"), [], "e1")
    work = cluster.work()
    work.link("unmerge", ("C-1", "customer"), ("C-1", "customer"), merge_id="nope")
    assert tables.unmerge(work, work.links[0][1]) == "rejected"


def test_entries_round_trip_through_the_table_encoding() -> None:
    cluster = Cluster()
    cluster.event(("C-1", "customer"), [("anon-1", "anonymous")], "e1")
    cluster.run()
    for entry in cluster.entries.values():
        assert tables.decode(tables.encode(entry)) == entry
