"""The values of the identity graph and their table form.

A profile is one person as far as we know; its identity keys point to it
through links (``key -> canonical id``). Merges and unmerges are kept as
audit records, because a wrong merge (a shared family tablet, a mistyped
loyalty number) must be undoable and provably undone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.common.events import require
from streams.common.identifiers import identifier_set, ordered

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Profile:
    """One person: a canonical id and the identity keys that resolve to it.

    A merged-away profile keeps its id as a tombstone with ``merged_into`` set
    and no keys, so an old id still redirects to the survivor.
    """

    canonical_id: str
    keys: frozenset[str]
    created_at: int
    merged_into: str | None = None
    merges: tuple[str, ...] = ()

    @property
    def has_customer(self) -> bool:
        return any(k.startswith("customer:") for k in self.keys)


@dataclass(frozen=True, slots=True)
class MergeRecord:
    """Audit of one merge, holding everything :func:`~streams.identity.rules.unmerge` needs."""

    merge_id: str
    survivor_id: str
    loser_id: str
    loser_keys: frozenset[str]
    loser_created_at: int
    loser_merges: tuple[str, ...]
    at: int
    reason: str


@dataclass(frozen=True, slots=True)
class UnmergeRecord:
    """Audit of one unmerge: who asked, why, and which keys went back to which profile."""

    merge_id: str
    survivor_id: str
    restored_id: str
    restored_keys: frozenset[str]
    at: int
    requested_by: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class Graph:
    """The slice of the identity graph one event touches.

    Agents load the links of the event's keys, the profiles they name (and, for
    an unmerge, the merge record) into a slice, apply the rules, and write the
    slice back; the whole graph never needs to be in one place.
    """

    links: Mapping[str, str] = field(default_factory=dict)
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    merges: Mapping[str, MergeRecord] = field(default_factory=dict)


def to_view(profile: Profile) -> dict[str, list[str]]:
    """The ``omni.view.IdentifierSet`` of a profile."""
    return identifier_set(profile.keys)


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    return {
        "v": STATE_VERSION,
        "canonical_id": profile.canonical_id,
        "keys": ordered(profile.keys),
        "created_at": profile.created_at,
        "merged_into": profile.merged_into,
        "merges": list(profile.merges),
    }


def profile_from_dict(data: Mapping[str, Any]) -> Profile:
    return Profile(
        canonical_id=require(data, "canonical_id"),
        keys=frozenset(require(data, "keys")),
        created_at=require(data, "created_at"),
        merged_into=data.get("merged_into"),
        merges=tuple(data.get("merges", ())),
    )


def merge_record_to_dict(rec: MergeRecord) -> dict[str, Any]:
    return {
        "v": STATE_VERSION,
        "merge_id": rec.merge_id,
        "survivor_id": rec.survivor_id,
        "loser_id": rec.loser_id,
        "loser_keys": ordered(rec.loser_keys),
        "loser_created_at": rec.loser_created_at,
        "loser_merges": list(rec.loser_merges),
        "at": rec.at,
        "reason": rec.reason,
    }


def merge_record_from_dict(data: Mapping[str, Any]) -> MergeRecord:
    return MergeRecord(
        merge_id=require(data, "merge_id"),
        survivor_id=require(data, "survivor_id"),
        loser_id=require(data, "loser_id"),
        loser_keys=frozenset(require(data, "loser_keys")),
        loser_created_at=require(data, "loser_created_at"),
        loser_merges=tuple(require(data, "loser_merges")),
        at=require(data, "at"),
        reason=require(data, "reason"),
    )


def unmerge_record_to_dict(rec: UnmergeRecord) -> dict[str, Any]:
    return {
        "v": STATE_VERSION,
        "merge_id": rec.merge_id,
        "survivor_id": rec.survivor_id,
        "restored_id": rec.restored_id,
        "restored_keys": ordered(rec.restored_keys),
        "at": rec.at,
        "requested_by": rec.requested_by,
        "reason": rec.reason,
    }


def unmerge_record_from_dict(data: Mapping[str, Any]) -> UnmergeRecord:
    return UnmergeRecord(
        merge_id=require(data, "merge_id"),
        survivor_id=require(data, "survivor_id"),
        restored_id=require(data, "restored_id"),
        restored_keys=frozenset(require(data, "restored_keys")),
        at=require(data, "at"),
        requested_by=require(data, "requested_by"),
        reason=data.get("reason"),
    )


def to_state_dict(graph: Graph) -> dict[str, Any]:
    """JSON-safe form of a slice (tables usually store its three parts apart)."""
    return {
        "v": STATE_VERSION,
        "links": dict(graph.links),
        "profiles": {k: profile_to_dict(p) for k, p in graph.profiles.items()},
        "merges": {k: merge_record_to_dict(m) for k, m in graph.merges.items()},
    }


def from_state_dict(data: Mapping[str, Any]) -> Graph:
    return Graph(
        links=dict(require(data, "links")),
        profiles={k: profile_from_dict(p) for k, p in require(data, "profiles").items()},
        merges={k: merge_record_from_dict(m) for k, m in require(data, "merges").items()},
    )
