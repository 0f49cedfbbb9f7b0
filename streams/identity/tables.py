"""The ``identity_links`` table: one entry per identifier value, pointing at its profile.

Keyed by the identifier's value as UTF-8 bytes: the same bytes the source
topics (``IDENTITY_KEY``, ``CART_KEY``) and ``omni.identity.links`` are keyed
by, and producers partition with murmur2 like Faust, so a worker only ever
reads entries of its own partitions. An entry whose ``canonical`` is its own
value is a *canonical entry*: it also holds the profile's member keys, the
merges it survived (what an unmerge needs) and an audit log. Values of
different kinds that are equal strings share an entry (the topic key has no
kind either); identifiers are uuids or hashes, so this does not happen in
practice.

Never rename the table: its changelog is ``<app id>-identity_links-changelog``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import orjson

from streams.common import idempotency
from streams.common.identifiers import KINDS, ordered, parse_key
from streams.exceptions import CorruptState

if TYPE_CHECKING:
    import faust

    from streams.app import Runtime

TABLE_NAME = "identity_links"
AUDIT_BOUND = 50
_RANK = {kind: rank for rank, kind in enumerate(KINDS.values())}


@dataclass(frozen=True, slots=True)
class Entry:
    """What the links table holds for one identifier value."""

    value: str
    kind: str
    canonical: str
    canonical_kind: str
    members: frozenset[str] = frozenset()
    merged_into: str | None = None
    merges: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    audit: tuple[dict[str, Any], ...] = ()
    seen: idempotency.Seen = field(default_factory=idempotency.Seen)
    # Other identifiers this one already claimed for ``claimed_for``: an event
    # that names them again sends no new claim (most events repeat the same set).
    claimed: frozenset[str] = frozenset()
    claimed_for: str = ""

    def to_claim(self, keys: Iterable[str]) -> frozenset[str]:
        """Of ``keys``, those not yet claimed for the current canonical profile."""
        held = self.claimed if self.claimed_for == self.canonical else frozenset()
        return frozenset(keys) - held - {self.key}

    def with_claimed(self, keys: Iterable[str]) -> Entry:
        held = self.claimed if self.claimed_for == self.canonical else frozenset()
        return replace(self, claimed=held | frozenset(keys), claimed_for=self.canonical)

    @property
    def is_canonical(self) -> bool:
        return self.canonical == self.value

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"


def rank(value: str, kind: str) -> tuple[int, str]:
    """Survivor order (smallest wins): customer first, then kind stability, then the value.

    Decided from the two ids alone, so any partition reaches the same answer
    without reading the other profile (no ``created_at`` lookup across workers).
    """
    return _RANK.get(kind, len(_RANK)), value


def survivor(a: tuple[str, str], b: tuple[str, str]) -> tuple[tuple[str, str], tuple[str, str]]:
    """``(survivor, loser)`` of two ``(value, kind)`` profiles."""
    return (a, b) if rank(*a) <= rank(*b) else (b, a)


def singleton(value: str, kind: str) -> Entry:
    """A new profile of one identifier: its own canonical id."""
    return Entry(value, kind, value, kind, frozenset({f"{kind}:{value}"}))


def audited(entry: Entry, record: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    return (*entry.audit, record)[-AUDIT_BOUND:]


def encode(entry: Entry) -> bytes:
    return orjson.dumps(
        {
            "value": entry.value,
            "kind": entry.kind,
            "canonical": entry.canonical,
            "canonical_kind": entry.canonical_kind,
            "members": ordered(entry.members),
            "merged_into": entry.merged_into,
            "merges": dict(entry.merges),
            "audit": list(entry.audit),
            "seen": idempotency.to_state_dict(entry.seen),
            "claimed": ordered(entry.claimed),
            "claimed_for": entry.claimed_for,
        }
    )


def decode(data: bytes) -> Entry:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CorruptState(f"{TABLE_NAME} holds a {type(data).__name__}, not bytes")
    try:
        raw: dict[str, Any] = orjson.loads(data)
        return Entry(
            value=raw["value"],
            kind=raw["kind"],
            canonical=raw["canonical"],
            canonical_kind=raw["canonical_kind"],
            members=frozenset(raw["members"]),
            merged_into=raw.get("merged_into"),
            merges=raw.get("merges") or {},
            audit=tuple(raw.get("audit") or ()),
            seen=idempotency.from_state_dict(raw["seen"]),
            claimed=frozenset(raw.get("claimed") or ()),
            claimed_for=raw.get("claimed_for") or "",
        )
    except (KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise CorruptState(f"{TABLE_NAME} entry is unreadable: {exc}") from exc


def links_table(app: faust.App, runtime: Runtime, partitions: int) -> faust.types.TableT[Any, Any]:
    return app.Table(
        TABLE_NAME,
        # bytes both ways: Faust derives the store serialisers from these types only.
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
        options=runtime.table_options(),
        help="identifier value -> canonical profile; canonical entries hold members and merges",
    )


CANONICAL_HEADER = "omni.canonical-id"
CANONICAL_KIND_HEADER = "omni.canonical-kind"
Ref = tuple[str, str]  # (identifier value, kind)
Headers = list[tuple[str, bytes]]
Command = Mapping[str, Any]
_LINK_FIELDS = ("other_id", "other_kind", "merge_id", "cause_id", "reason", "requested_by")
_PROFILE_FIELDS = ("other_id", "other_kind", "merge_id", "state", "command_id")


class Work:
    """One partition's batch: entries touched, and the commands to send after the write."""

    def __init__(self, load: Callable[[str], Entry | None]) -> None:
        self._load = load
        self.entries: dict[str, Entry] = {}
        self.links: list[tuple[str, dict[str, Any]]] = []
        self.profiles: list[tuple[str, Any, Headers | None]] = []

    def get(self, value: str) -> Entry | None:
        return self.entries[value] if value in self.entries else self._load(value)

    def put(self, entry: Entry) -> Entry:
        self.entries[entry.value] = entry
        return entry

    def create(self, entry: Entry) -> Entry:
        """A new canonical entry; stage 2 learns its keys."""
        self.profile("identifiers", (entry.value, entry.kind), keys=[entry.key])
        return self.put(entry)

    def link(self, command: str, to: Ref, canonical: Ref, **fields: Any) -> None:
        """An ``IdentityCommand`` to identifier ``to`` about profile ``canonical``."""
        body = dict.fromkeys(_LINK_FIELDS, "") | {"keys": [], "at": 0} | fields
        body.update(command=command, identifier=to[0], identifier_kind=to[1])
        body.update(canonical_id=canonical[0], canonical_kind=canonical[1])
        self.links.append((to[0], body))

    def profile(self, command: str, to: Ref, **fields: Any) -> None:
        """A ``ProfileCommand`` to stage 2, keyed by canonical id ``to``."""
        body = dict.fromkeys(_PROFILE_FIELDS, "") | {"keys": [], "at": 0} | fields
        body.update(command=command, canonical_id=to[0], canonical_kind=to[1])
        self.profiles.append((to[0], body, None))

    def forward(self, canonical: str, kind: str, value: bytes) -> None:
        headers = [(CANONICAL_HEADER, canonical.encode()), (CANONICAL_KIND_HEADER, kind.encode())]
        self.profiles.append((canonical, value, headers))


def _why(cmd: Command) -> dict[str, Any]:
    return {"cause_id": cmd["cause_id"], "at": cmd["at"], "reason": cmd["reason"]}


def _refs(cmd: Command) -> tuple[Ref, Ref]:
    return (cmd["identifier"], cmd["identifier_kind"]), (cmd["canonical_id"], cmd["canonical_kind"])


def ref(entry: Entry) -> Ref:
    return entry.value, entry.kind


def canonical_ref(entry: Entry) -> Ref:
    return entry.canonical, entry.canonical_kind


def claim(work: Work, cmd: Command) -> str:
    """``identifier`` belongs to profile ``canonical_id``: join it, or merge two profiles."""
    j, c = _refs(cmd)
    entry = work.get(j[0])
    if entry is None:
        if j[1] == "customer" and survivor(j, c)[0] == j:
            work.create(singleton(*j))  # promotion: the customer profile survives
            work.link("merge", c, j, **_why(cmd))
            return "promoted"
        work.put(Entry(j[0], j[1], *c))
        work.link("member", c, c, keys=[f"{j[1]}:{j[0]}"], at=cmd["at"])
        return "joined"
    d = canonical_ref(entry)
    if d[0] == c[0]:
        return "unchanged"
    won, lost = survivor(c, d)
    if lost == d and entry.is_canonical:
        _merge_here(work, entry, won, cmd)
    elif lost == d:
        work.put(replace(entry, canonical=won[0], canonical_kind=won[1]))
        work.link("member", won, won, keys=[entry.key], at=cmd["at"])
        work.link("merge", d, won, **_why(cmd))
    else:
        work.link("merge", c, d, **_why(cmd))
    return "merge"


def merge(work: Work, cmd: Command) -> str:
    """At the loser: fold this profile into ``canonical_id`` (or pass the conflict on)."""
    lost, won = _refs(cmd)
    entry = work.get(lost[0]) or work.create(singleton(*lost))
    if entry.canonical == won[0]:
        return "unchanged"
    if not entry.is_canonical or survivor(won, ref(entry))[0] != won:
        better, worse = survivor(canonical_ref(entry), won)
        work.link("merge", worse, better, **_why(cmd))
        return "passed_on"
    _merge_here(work, entry, won, cmd)
    return "merged"


def _merge_here(work: Work, entry: Entry, won: Ref, cmd: Command) -> None:
    from streams.identity.rules import merge_id_for

    merge_id = merge_id_for(str(cmd["cause_id"]), entry.value)
    keys = ordered(entry.members)
    note = {"merged_into": won[0], "merge_id": merge_id, "keys": keys, **_why(cmd)}
    merged = replace(entry, canonical=won[0], canonical_kind=won[1], merged_into=won[0])
    work.put(replace(merged, members=frozenset(), audit=audited(entry, note)))
    work.link(
        "absorbed", won, won, other_id=entry.value, other_kind=entry.kind, merge_id=merge_id,
        keys=keys, **_why(cmd),
    )  # fmt: skip


def absorbed(work: Work, cmd: Command) -> str:
    """At the survivor: take the loser's keys, record the merge, repoint keys, tell stage 2."""
    won, _ = _refs(cmd)
    lost, merge_id = (cmd["other_id"], cmd["other_kind"]), cmd["merge_id"]
    entry = work.get(won[0]) or work.create(singleton(*won))
    if not entry.is_canonical:
        fields = {k: cmd[k] for k in (*_LINK_FIELDS, "keys", "at")}
        work.link("absorbed", canonical_ref(entry), canonical_ref(entry), **fields)
        return "passed_on"
    if merge_id in entry.merges:
        return "duplicate"
    record = {"survivor_id": won[0], "loser_id": lost[0], "loser_kind": lost[1]}
    record.update(loser_keys=list(cmd["keys"]), **_why(cmd))
    members = entry.members | frozenset(cmd["keys"])
    merges = {**entry.merges, merge_id: record}
    audit = audited(entry, {"absorbed": merge_id, **record})
    work.put(replace(entry, members=members, merges=merges, audit=audit))
    for key in cmd["keys"]:  # the loser too: it may have been merged into a stale survivor
        kind, value = parse_key(key)
        work.link("repoint", (value, kind), won, other_id=lost[0], at=cmd["at"])
    work.profile(
        "merge_out", lost, other_id=won[0], other_kind=won[1], merge_id=merge_id,
        command_id=merge_id, at=cmd["at"],
    )  # fmt: skip
    work.profile("identifiers", won, keys=ordered(members), at=cmd["at"])
    return "merged"


def repoint(work: Work, cmd: Command) -> str:
    """A key moves to ``canonical_id``: from ``other_id`` (merge, unmerge) or up the rank.

    A key that moved on since only follows a better-ranked profile, so a late
    repoint never undoes a newer merge, and a live canonical entry never moves.
    """
    (value, kind), target = _refs(cmd)
    entry = work.get(value)
    if entry is None:
        work.put(Entry(value, kind, *target))
        return "repointed"
    if entry.canonical == target[0] or entry.is_canonical:
        return "unchanged"
    current = canonical_ref(entry)
    if entry.canonical == cmd["other_id"] or survivor(target, current)[0] == target:
        work.put(replace(entry, canonical=target[0], canonical_kind=target[1]))
        return "repointed"
    return "unchanged"


def member(work: Work, cmd: Command) -> str:
    """At a canonical entry: one more key of the profile (or pass it to the survivor)."""
    c, _ = _refs(cmd)
    key = cmd["keys"][0]
    entry = work.get(c[0]) or work.create(singleton(*c))
    if entry.is_canonical:
        if key in entry.members:
            return "unchanged"
        entry = work.put(replace(entry, members=entry.members | {key}))
        work.profile("identifiers", ref(entry), keys=ordered(entry.members), at=cmd["at"])
        return "joined"
    t = canonical_ref(entry)
    kind, value = parse_key(key)
    work.link("repoint", (value, kind), t, other_id=c[0], at=cmd["at"])
    work.link("member", t, t, keys=[key], at=cmd["at"])
    return "passed_on"


def unmerge(work: Work, cmd: Command) -> str:
    """At the survivor: give a merge's loser its keys back, audited with who asked and why."""
    entry = work.get(cmd["identifier"])
    merge_id = cmd["merge_id"]
    record = entry.merges.get(merge_id) if entry is not None and entry.is_canonical else None
    if entry is None or record is None or record.get("undone"):
        return "rejected"
    lost = (record["loser_id"], record["loser_kind"])
    restored = frozenset(record["loser_keys"]) & entry.members
    undo = {"unmerged": merge_id, "restored_id": lost[0], "keys": ordered(restored)}
    undo.update(requested_by=cmd["requested_by"], **_why(cmd))
    members = entry.members - restored
    merges = {**entry.merges, merge_id: {**record, "undone": undo}}
    work.put(replace(entry, members=members, merges=merges, audit=audited(entry, undo)))
    work.link(
        "restore", lost, lost, other_id=entry.value, keys=ordered(restored), merge_id=merge_id,
        **_why(cmd),
    )  # fmt: skip
    for key in restored:
        kind, value = parse_key(key)
        if value != lost[0]:
            work.link("repoint", (value, kind), lost, other_id=entry.value, at=cmd["at"])
    work.profile("identifiers", ref(entry), keys=ordered(members), at=cmd["at"])
    work.profile(
        "split", ref(entry), other_id=lost[0], other_kind=lost[1], merge_id=merge_id,
        at=cmd["at"], command_id=f"split:{merge_id}",
    )  # fmt: skip
    return "unmerged"


def restore(work: Work, cmd: Command) -> str:
    """At an unmerged loser: canonical again, with the keys it brought."""
    lost, _ = _refs(cmd)
    entry = work.get(lost[0]) or singleton(*lost)
    keys = frozenset(cmd["keys"]) | {entry.key}
    note = {"restored_from": cmd["other_id"], "merge_id": cmd["merge_id"], **_why(cmd)}
    back = replace(entry, canonical=entry.value, canonical_kind=entry.kind, merged_into=None)
    work.put(replace(back, members=keys, audit=audited(entry, note)))
    work.profile(
        "unmerged", ref(entry), other_id=cmd["other_id"], merge_id=cmd["merge_id"],
        keys=ordered(keys), at=cmd["at"], command_id=f"unmerge:{cmd['merge_id']}",
    )  # fmt: skip
    return "restored"


HANDLERS: dict[str, Callable[[Work, Command], str]] = {
    "claim": claim,
    "member": member,
    "merge": merge,
    "absorbed": absorbed,
    "repoint": repoint,
    "unmerge": unmerge,
    "restore": restore,
}
