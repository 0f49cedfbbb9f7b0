"""Identity resolution: which profile an event is about, and when two profiles are one.

Canonical id
    A profile with a customer id is canonical under its customer id. A
    profile without one is canonical under the value of its most stable key
    at creation (anonymous id, else loyalty id, e-mail hash, phone hash,
    device id). The id never changes afterwards except by *promotion*: when an
    anonymous profile learns a customer id, a customer profile is created and
    the anonymous one is merged into it, so the promotion is audited and can be
    unmerged like any other merge.

Survivor rule
    When an event's keys resolve to two or more profiles they are one person
    and merge into a single survivor: a profile with a customer id beats one
    without; between equals, the OLDER profile (``created_at``) survives, and a
    tie goes to the smallest canonical id. If none of them has a customer id but
    the event brings a new one, the new customer profile survives. Older wins
    because its id is the one other systems have known longest.

Unmerge
    A merge is undone at its survivor: the keys the loser brought (and the
    survivor still holds) go back to a revived loser profile. Nested merges
    unwind from the outside in: a merge whose survivor was itself merged
    away is undone after the outer one; until then it is ``Rejected``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from streams.common.events import meta, short_name
from streams.common.identifiers import customer_ids, identity_keys, ordered, parse_key
from streams.common.outcome import Rejected
from streams.exceptions import CorruptState, UnsupportedEvent
from streams.identity.model import Graph, MergeRecord, Profile, UnmergeRecord

MERGE_NAMESPACE = uuid.UUID("5b0f5d3e-7a43-4c57-9a43-3f0a1d7c2e11")


class Kind(StrEnum):
    NEW = "new"
    EXISTING = "existing"
    MERGE = "merge"


@dataclass(frozen=True, slots=True)
class Resolution:
    """Who an event's keys belong to. ``creates``: the canonical profile does not exist yet."""

    kind: Kind
    canonical_id: str
    losers: tuple[str, ...] = ()
    unlinked: tuple[str, ...] = ()
    creates: bool = False


@dataclass(frozen=True, slots=True)
class MergeResult:
    survivor: Profile
    loser: Profile
    record: MergeRecord


@dataclass(frozen=True, slots=True)
class UnmergeResult:
    survivor: Profile
    restored: Profile
    record: UnmergeRecord


@dataclass(frozen=True, slots=True)
class Linked:
    """Outcome of an identity event: the new slice, who the event is about, what was audited."""

    state: Graph
    canonical_id: str
    merges: tuple[MergeRecord, ...] = ()
    unmerge: UnmergeRecord | None = None


def canonical_for(keys: Iterable[str]) -> str:
    """The canonical id a new profile with ``keys`` gets."""
    keys = list(keys)
    customers = customer_ids(keys)
    if customers:
        return customers[0]
    return parse_key(ordered(keys)[0])[1]


def survivor_rank(profile: Profile) -> tuple[int, int, str]:
    """Smallest rank survives: customer first, then oldest, then smallest id."""
    return (0 if profile.has_customer else 1, profile.created_at, profile.canonical_id)


def _follow(canonical_id: str, profiles: Mapping[str, Profile]) -> str:
    """Follow merge redirects, so a link not yet repointed still finds the survivor."""
    seen = {canonical_id}
    profile = profiles.get(canonical_id)
    while profile is not None and profile.merged_into is not None:
        canonical_id = profile.merged_into
        if canonical_id in seen:
            raise CorruptState(f"merge redirect loop at {canonical_id!r}")
        seen.add(canonical_id)
        profile = profiles.get(canonical_id)
    return canonical_id


def resolve(
    links: Mapping[str, str], keys: Iterable[str], profiles: Mapping[str, Profile]
) -> Resolution:
    """Decide NEW, EXISTING or MERGE for ``keys`` (see the survivor rule above).

    ``profiles`` must hold the profile of every canonical id ``links`` names
    for these keys: survivor choice depends on them.
    """
    keys = ordered(set(keys))
    unlinked = tuple(k for k in keys if k not in links)
    known = sorted({_follow(links[k], profiles) for k in keys if k in links})
    if not known:
        return Resolution(Kind.NEW, canonical_for(keys), unlinked=unlinked, creates=True)
    missing = [c for c in known if c not in profiles]
    if missing:
        raise CorruptState(f"links name profiles that are not loaded: {missing}")
    best = min((profiles[c] for c in known), key=survivor_rank)
    new_customers = customer_ids(unlinked)
    if new_customers and not best.has_customer:
        return Resolution(Kind.MERGE, new_customers[0], tuple(known), unlinked, creates=True)
    if len(known) == 1:
        return Resolution(Kind.EXISTING, best.canonical_id, unlinked=unlinked)
    losers = tuple(c for c in known if c != best.canonical_id)
    return Resolution(Kind.MERGE, best.canonical_id, losers, unlinked)


def merge(
    survivor: Profile, loser: Profile, merge_id: str, at: int, reason: str
) -> MergeResult | Rejected:
    """Fold ``loser`` into ``survivor``; the loser becomes a redirect, the record allows undo."""
    if survivor.canonical_id == loser.canonical_id:
        return Rejected("same_profile", survivor.canonical_id)
    if loser.merged_into is not None or survivor.merged_into is not None:
        return Rejected("already_merged", f"{loser.canonical_id} or {survivor.canonical_id}")
    record = MergeRecord(
        merge_id=merge_id,
        survivor_id=survivor.canonical_id,
        loser_id=loser.canonical_id,
        loser_keys=loser.keys,
        loser_created_at=loser.created_at,
        loser_merges=loser.merges,
        at=at,
        reason=reason,
    )
    return MergeResult(
        survivor=replace(
            survivor, keys=survivor.keys | loser.keys, merges=(*survivor.merges, merge_id)
        ),
        loser=replace(loser, keys=frozenset(), merged_into=survivor.canonical_id),
        record=record,
    )


def unmerge(
    survivor: Profile,
    record: MergeRecord | None,
    at: int,
    requested_by: str,
    reason: str | None = None,
) -> UnmergeResult | Rejected:
    """Give the loser of ``record`` its keys back; unknown or foreign merges are rejected."""
    if record is None or record.merge_id not in survivor.merges:
        return Rejected("unknown_merge", record.merge_id if record else "")
    if record.survivor_id != survivor.canonical_id:
        return Rejected("unknown_merge", f"{record.merge_id} is not held by this profile")
    if survivor.merged_into is not None:
        return Rejected("survivor_merged_away", f"undo the merge into {survivor.merged_into} first")
    restored_keys = record.loser_keys & survivor.keys
    restored = Profile(
        record.loser_id, restored_keys, record.loser_created_at, None, record.loser_merges
    )
    kept = tuple(m for m in survivor.merges if m != record.merge_id)
    audit = UnmergeRecord(
        record.merge_id,
        survivor.canonical_id,
        record.loser_id,
        restored_keys,
        at,
        requested_by,
        reason,
    )
    return UnmergeResult(
        replace(survivor, keys=survivor.keys - restored_keys, merges=kept), restored, audit
    )


def merge_id_for(event_id: str, loser_id: str) -> str:
    """Deterministic merge id, so a replayed event produces the same audit record."""
    return str(uuid.uuid5(MERGE_NAMESPACE, f"{event_id}/{loser_id}"))


def link(graph: Graph, keys: Iterable[str], at: int, event_id: str, reason: str) -> Linked:
    """Attach ``keys`` to one profile, creating or merging profiles as the survivor rule says."""
    res = resolve(graph.links, keys, graph.profiles)
    profiles = dict(graph.profiles)
    records: list[MergeRecord] = []
    if res.creates:
        profiles[res.canonical_id] = Profile(res.canonical_id, frozenset(), at)
    survivor = profiles[res.canonical_id]
    for loser_id in res.losers:
        result = merge(survivor, profiles[loser_id], merge_id_for(event_id, loser_id), at, reason)
        if isinstance(result, Rejected):
            raise CorruptState(f"cannot merge {loser_id} into {survivor.canonical_id}: {result}")
        survivor, profiles[loser_id] = result.survivor, result.loser
        records.append(result.record)
    if not res.unlinked and not records:
        return Linked(graph, res.canonical_id)
    survivor = replace(survivor, keys=survivor.keys | frozenset(res.unlinked))
    profiles[survivor.canonical_id] = survivor
    links = {**graph.links, **dict.fromkeys(survivor.keys, survivor.canonical_id)}
    merges = {**graph.merges, **{r.merge_id: r for r in records}}
    return Linked(Graph(links, profiles, merges), res.canonical_id, tuple(records))


def event_keys(record_name: str, event: Mapping[str, Any]) -> list[str]:
    """Every identity key an identity event declares to be one person."""
    keys = identity_keys(event["envelope"].get("identifiers") or {})
    name = short_name(record_name)
    if name == "CustomerIdentified":
        keys.append(f"customer:{event['customer_id']}")
    elif name == "IdentifiersLinked":
        keys.extend(identity_keys(event.get("linked") or {}))
    return keys


def apply(graph: Graph, record_name: str, event: Mapping[str, Any]) -> Linked | Rejected:
    """Fold one event of ``omni.identity.events`` into the slice."""
    name = short_name(record_name)
    m = meta(event)
    if name == "ProfilesUnmergeRequested":
        return _apply_unmerge(graph, event, m.at)
    if name not in ("CustomerIdentified", "IdentifiersLinked"):
        raise UnsupportedEvent(f"identity rules do not fold {record_name}")
    keys = event_keys(name, event)
    if not keys:
        return Rejected("no_identifiers", m.event_id)
    reason = "login" if name == "CustomerIdentified" else str(event.get("reason") or "unknown")
    return link(graph, keys, m.at, m.event_id, reason)


def _apply_unmerge(graph: Graph, event: Mapping[str, Any], at: int) -> Linked | Rejected:
    record = graph.merges.get(event["merge_id"])
    survivor = graph.profiles.get(record.survivor_id) if record else None
    if record is None or survivor is None:
        return Rejected("unknown_merge", str(event["merge_id"]))
    result = unmerge(survivor, record, at, event["requested_by"], event.get("reason"))
    if isinstance(result, Rejected):
        return result
    profiles = {
        **graph.profiles,
        survivor.canonical_id: result.survivor,
        result.restored.canonical_id: result.restored,
    }
    links = {**graph.links, **dict.fromkeys(result.restored.keys, result.restored.canonical_id)}
    new = Graph(links, profiles, graph.merges)
    return Linked(new, result.restored.canonical_id, unmerge=result.record)
