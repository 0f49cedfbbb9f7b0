"""Identity resolver (stage 1): re-key every customer event by its canonical profile.

Cross-partition design (no worker ever reads another partition's table)
----------------------------------------------------------------------
* Sources ``omni.identity.events``, ``omni.customer.interactions``,
  ``omni.consent.events`` and ``omni.cart.events`` are keyed by one identifier
  value. ``identity_links`` (:mod:`streams.identity.tables`) is keyed by the
  same bytes, so the entry of an event's key is always local.
* An event resolves its key to a canonical id (an unknown key is a new
  profile of its own). Every *other* identifier it carries (the envelope's,
  CustomerIdentified's ``customer_id``, IdentifiersLinked's ``linked``) is
  *claimed* for that profile by an ``IdentityCommand`` on ``omni.identity.links``
  keyed by that identifier, which this same agent consumes (co-partitioned).
* Survivor rule (:func:`streams.identity.tables.rank`): a customer id beats
  any other kind; then the more stable kind (anonymous, loyalty, email, phone,
  device); then the smaller value. It needs only the two ids, so it is the
  same on every partition and in any arrival order. (The pure rules' "older
  profile wins" would need the other profile's ``created_at``: a cross-partition
  read, so the distributed graph does not use it.)
* A claim on an identifier already in another profile is a merge: ``merge``
  goes to the loser's canonical entry, which becomes a redirect and sends
  ``absorbed`` (its member keys) to the survivor; the survivor records the
  merge (audit, undoable), ``repoint``s each moved key, and tells stage 2
  (``merge_out`` to the loser, who ships its cart and context to the survivor).
  A survivor that was itself merged meanwhile passes ``absorbed`` on; a
  ``repoint`` only moves a key from the named profile or up the rank, so
  late commands never undo a newer merge. An unknown customer id claimed by a
  non-customer profile is a promotion: it becomes canonical and the claimant
  merges into it (audited too).
* The event's ORIGINAL bytes go on to ``omni.customer.by-canonical`` keyed by
  the canonical id with header ``omni.canonical-id``; stage 2
  (:mod:`streams.context.agents`) owns carts and context there, and a merge
  ships the loser's state to the survivor through the same topic. What would
  land on the partition it came from is applied by stage 2 in process, in
  the same run (:mod:`streams.identity.handoff`).
* ``ProfilesUnmergeRequested`` (any identifier of the survivor) becomes an
  ``unmerge`` to the canonical entry, which gives the loser its keys back
  (``restore``), repoints them and audits who asked and why.

Links converge eventually: an event racing a merge may still be forwarded to
the loser; stage 2 redirects it to the survivor. Known limits: an unmerge gives
back the keys the loser had when it merged (a key that reached the loser only
after the merge stays with the survivor), and the merged cart and context are
not split back: the restored profile starts a fresh context with its keys.
Identifier values are the table keys without their kind, so equal values of
two kinds would share an entry (ids are uuids or hashes, so they do not).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from schemas.catalogue import (
    CART_EVENTS,
    CONSENT_EVENTS,
    CUSTOMER_BY_CANONICAL,
    CUSTOMER_FACTS,
    CUSTOMER_INTERACTIONS,
    IDENTITY_EVENTS,
    IDENTITY_LINKS,
)
from schemas.codec import Decoded
from schemas.exceptions import DecodeError
from streams.carts import rules as cart_rules
from streams.common import idempotency
from streams.common.events import meta, short_name, to_millis
from streams.common.identifiers import identity_keys, parse_key
from streams.identity import tables, views
from streams.identity.handoff import PROFILE_COMMAND, Handoff, Sent
from streams.processor import BatchProcessor, Writes

if TYPE_CHECKING:
    import faust
    from faust.types import EventT

    from streams.app import Runtime
    from streams.transport.batch import RawRecord as Record

COMMAND = "omni.internal.IdentityCommand"
SOURCES = (IDENTITY_EVENTS, CUSTOMER_INTERACTIONS, CONSENT_EVENTS, CART_EVENTS, CUSTOMER_FACTS)


def event_keys(record: str, event: dict[str, Any]) -> list[str]:
    """Every identity key an event names (envelope plus identity-event fields)."""
    keys = identity_keys(event["envelope"].get("identifiers") or {})
    name = short_name(record)
    if name == "CustomerIdentified" and event.get("customer_id"):
        keys.append(f"customer:{event['customer_id']}")
    elif name == "IdentifiersLinked":
        keys.extend(identity_keys(event.get("linked") or {}))
    return list(dict.fromkeys(keys))


class Resolver(BatchProcessor):
    """Stage 1: one instance per app; see the module docstring for the protocol."""

    def __init__(self, app: faust.App, runtime: Runtime) -> None:
        self.runtime = runtime
        prefix = runtime.settings.topics.prefix
        partitions = runtime.settings.topics.partitions_override or IDENTITY_EVENTS.partitions
        self.links_topic_name = IDENTITY_LINKS.physical(prefix)
        self.profiles_topic_name = CUSTOMER_BY_CANONICAL.physical(prefix)
        names = [t.physical(prefix) for t in SOURCES] + [self.links_topic_name]
        self.source = self.source_topic(app, *names, partitions=partitions)
        self.links_out = app.topic(
            self.links_topic_name, key_serializer="raw", value_serializer="raw"
        )
        self.profiles_out = app.topic(
            self.profiles_topic_name, key_serializer="raw", value_serializer="raw"
        )
        self.table = tables.links_table(app, runtime, partitions)

    async def apply_round(self, runs: Sequence[tuple[EventT[Any], Sequence[Record]]]) -> None:
        stage = self.runtime.profiles
        if stage is None:
            await super().apply_round(runs)
            return
        async with stage.lock:  # stage 2's state is written here too (see handoff)
            await super().apply_round(runs)

    async def apply_partition(self, records: Sequence[Record]) -> Writes:
        work = tables.Work(self.load)
        handoff = self.handoff(records[0].partition)
        for record in records:
            await self.apply_one(record, work, handoff)
        sends: Sequence[Sent] = work.profiles
        if handoff is not None:
            runtime = self.runtime
            sends = await handoff.apply(sends, records[-1], runtime.encoder, runtime.decoder)
        await self.flush(work, sends)
        return Writes(partial(self.store, work), handoff.store if handoff is not None else None)

    def handoff(self, partition: int) -> Handoff | None:
        """Stage 2 of this worker when it holds ``partition`` (:mod:`streams.identity.handoff`)."""
        stage = self.runtime.profiles
        if stage is None or not stage.owns(partition):
            return None
        return Handoff(stage, partition)

    def store(self, work: tables.Work) -> None:
        """Write each touched key once; called after the batch's emissions and handed state."""
        for value, entry in work.entries.items():
            self.write(value.encode(), tables.encode(entry))

    def load(self, value: str) -> tables.Entry | None:
        data = self.table.get(value.encode())
        return tables.decode(data) if data is not None else None

    async def apply_one(
        self, record: Record, work: tables.Work, handoff: Handoff | None = None
    ) -> None:
        try:
            decoded = self.runtime.decoder.decode(record.value)
        except DecodeError as exc:
            await self.dead_letter(record, exc.reason, exc)
            return
        if decoded.record == COMMAND:
            handler = tables.HANDLERS.get(decoded.value["command"])
            if handler is None:
                await self.dead_letter(record, "invalid:unknown_command", decoded.value["command"])
                return
            outcome = handler(work, {**decoded.value, "at": to_millis(decoded.value["at"])})
            self.count(record, f"IdentityCommand.{decoded.value['command']}", outcome)
            return
        key = record.key.decode() if record.key else ""
        await self.resolve(record, decoded, key, work, handoff)

    async def resolve(
        self,
        record: Record,
        decoded: Decoded,
        key: str,
        work: tables.Work,
        handoff: Handoff | None,
    ) -> None:
        name, event = decoded.record, decoded.value
        refused = cart_rules.validate(name, event)
        if refused is not None:
            await self.dead_letter(record, f"invalid:{refused.reason}", refused.detail)
            return
        keys = event_keys(name, event)
        mine = [k for k in keys if parse_key(k)[1] == key] or keys[:1]
        if not mine:
            await self.dead_letter(record, "invalid:no_identifiers", f"{name} names nobody")
            return
        kind, value = parse_key(mine[0])
        entry = work.get(value) or work.create(tables.singleton(value, kind))
        verdict, seen = idempotency.admit(entry.seen, event["envelope"])
        if verdict is idempotency.Verdict.DUPLICATE:
            self.count(record, short_name(name), "duplicate")
            return
        fresh = sorted(entry.to_claim(k for k in keys if parse_key(k)[1] != value))
        entry = work.put(replace(entry, seen=seen).with_claimed(fresh))
        canonical = tables.canonical_ref(entry)
        m = meta(event)
        why = {"cause_id": m.event_id, "at": m.at}
        reason = "login" if short_name(name) == "CustomerIdentified" else "linked"
        for other in fresh:
            other_kind, other_value = parse_key(other)
            work.link("claim", (other_value, other_kind), canonical, reason=reason, **why)
        if short_name(name) == "ProfilesUnmergeRequested":
            work.link(
                "unmerge",
                canonical,
                canonical,
                merge_id=str(event["merge_id"]),
                reason=event.get("reason") or "",
                requested_by=event["requested_by"],
                **why,
            )
        else:
            work.forward(*canonical, record.value or b"")
            if handoff is not None:
                handoff.keep(len(work.profiles) - 1, record, canonical[1], decoded)
        self.count(record, short_name(name), verdict.value)

    async def flush(self, work: tables.Work, sends: Sequence[Sent]) -> None:
        encoder = self.runtime.encoder
        for key, value in work.links:
            data = encoder.encode(self.links_topic_name, COMMAND, value)
            await self.runtime.out.send(self.links_topic_name, key.encode(), data)
        for key, body, headers in sends:
            data = (
                body
                if headers is not None
                else encoder.encode(self.profiles_topic_name, PROFILE_COMMAND, body)
            )
            await self.runtime.out.send(self.profiles_topic_name, key.encode(), data, headers)


def install(app: faust.App, runtime: Runtime) -> None:
    """Declare the links table, the resolver agent and the identity-resolving HTTP views."""
    resolver = Resolver(app, runtime)
    app.agent(resolver.source, name="identity-resolver")(resolver.run)
    views.install(app, resolver)
