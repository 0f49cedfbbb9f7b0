"""Per-customer stage (stage 2): carts and the single customer view, keyed by canonical id.

Consumes ``omni.customer.by-canonical``: the original bytes of customer events
that the identity resolver (:mod:`streams.identity.agents`, where the whole
cross-partition design is documented) re-keyed by canonical id, and
``ProfileCommand`` records. ``context_by_customer`` is keyed by the same
canonical id and holds each profile's context, cart and applied event ids in
one value, so everything a profile needs is local and written at once.

On a merge the loser's owner gets ``merge_out``: it ships its cart and context
(and applied event ids) to the survivor as ``absorb`` on the same topic keyed
by the survivor, tombstones its cart view and emits a redirect context
(``merged_into``). Anything still arriving for the loser is forwarded to the
survivor. ``unmerged`` gives a restored profile a fresh context with its keys
back (what was merged cannot be told apart again). Hook for orders and cases:
``order_summary`` / ``case_summary`` commands keyed by the customer id, with
``state`` = ``{"summary": OrderSummary|CaseSummary, "net_minor"|"csat": ...}``.

Prices: cart lines are priced from the worker's price book
(:mod:`streams.pricing`) as of the event's time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson
from confluent_kafka import murmur2
from faust.types import TP

from schemas.catalogue import CART_VIEW, CUSTOMER_BY_CANONICAL, CUSTOMER_CONTEXT_VIEW
from schemas.codec import Decoded
from schemas.exceptions import DecodeError
from streams.carts import agents as cart_side
from streams.carts import model as cart_model
from streams.carts import rules as cart_rules
from streams.common import idempotency
from streams.common.events import event_id_text, meta, short_name, to_millis, wire_millis
from streams.common.outcome import Applied, Rejected
from streams.context import model, rules, tables, views
from streams.identity.tables import CANONICAL_KIND_HEADER
from streams.processor import BatchProcessor

if TYPE_CHECKING:
    import faust
    from faust.types import EventT

    from streams.app import Runtime
    from streams.transport.batch import RawRecord as Record

PROFILE_COMMAND = "omni.internal.ProfileCommand"
CUSTOMER_FACT = "omni.internal.CustomerFact"
MERGE_SOURCE = "omni.identity.merge"


@dataclass
class Batch:
    """One partition's worth: profiles and carts touched, views to emit, records to send."""

    profiles: dict[str, tables.ProfileState] = field(default_factory=dict)
    loaded: dict[str, tables.ProfileState | None] = field(default_factory=dict)
    carts: dict[str, cart_model.Cart | None] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    changed_carts: set[str] = field(default_factory=set)
    sends: list[tuple[str, bytes, list[tuple[str, bytes]] | None]] = field(default_factory=list)
    latest_at: int = 0


class ProfileProcessor(BatchProcessor):
    """Applies batches of re-keyed events and profile commands; one instance per app."""

    def __init__(self, app: faust.App, runtime: Runtime) -> None:
        self.runtime = runtime
        partitions = runtime.settings.topics.partitions_override or CUSTOMER_BY_CANONICAL.partitions
        self.topic_name = CUSTOMER_BY_CANONICAL.physical(runtime.settings.topics.prefix)
        self.source = self.source_topic(app, self.topic_name, partitions=partitions)
        self.partitions = partitions
        self.table = tables.context_table(app, runtime, partitions)
        # Stage 1 applies records of this processor's own partitions in its runs
        # (see :meth:`owns`); the lock keeps the two from interleaving on a key.
        self.lock = asyncio.Lock()
        self.context_view = runtime.topic_name(CUSTOMER_CONTEXT_VIEW.name)
        self.cart_view = runtime.topic_name(CART_VIEW.name)
        self.out = {
            name: app.topic(name, key_serializer="raw", value_serializer="raw")
            for name in (self.topic_name, self.context_view, self.cart_view)
        }

    async def apply_round(self, runs: Sequence[tuple[EventT[Any], Sequence[Record]]]) -> None:
        async with self.lock:
            await super().apply_round(runs)

    async def apply_partition(self, records: Sequence[Record]) -> Callable[[], None]:
        batch = Batch()
        for record in records:
            await self.apply_one(record, dict(record.headers or ()), batch)
        await self.flush(batch)
        return partial(self.store, batch)

    def begin(self) -> Batch:
        return Batch()

    def owns(self, partition: int) -> bool:
        """Whether profile partition ``partition`` is active in this worker.

        Faust assigns the same partition of co-subscribed topics with equal
        partition counts to one worker, so stage 1's partition ``p`` normally
        comes with this one; stage 1 asks before handing records over.
        """
        return TP(self.topic_name, partition) in self.app.assignor.assigned_actives()

    def partition_of(self, key: str) -> int:
        """The partition a record keyed ``key`` takes on the source topic (murmur2, as produced)."""
        return int(murmur2(key.encode(), self.partitions))

    def store(self, batch: Batch) -> None:
        """Write each touched key once, cart and context in one value; after the flush.

        A key's cart and the event ids applied to it are one write (see
        :mod:`streams.context.tables`): a crash between two keys' writes
        leaves each key either applied or not, and the run applied again
        skips, per key, what that key's event ids already hold.
        """
        for key in batch.profiles.keys() | batch.carts.keys():
            state = self.profile(batch, key)
            if key in batch.carts:
                state = replace(state, cart=batch.carts[key])
            self.write(key.encode(), tables.encode(state))

    def stored(self, batch: Batch, key: str) -> tables.ProfileState | None:
        """The key's state as the table holds it, decoded once per batch."""
        if key not in batch.loaded:
            data = self.table.get(key.encode())
            batch.loaded[key] = tables.decode(data) if data is not None else None
        return batch.loaded[key]

    def profile(self, batch: Batch, key: str, kind: str = "") -> tables.ProfileState:
        state = batch.profiles.get(key) or self.stored(batch, key) or tables.empty(key, kind)
        if kind and state.kind != kind:
            state = replace(state, kind=kind)
        return state

    def cart(self, batch: Batch, key: str) -> cart_model.Cart | None:
        """The cart as this batch left it: its own changes first, then the stored state's."""
        if key in batch.carts:
            return batch.carts[key]
        state = batch.profiles.get(key) or self.stored(batch, key)
        return None if state is None else state.cart

    def put(self, batch: Batch, key: str, state: tables.ProfileState, at: int = 0) -> None:
        old = batch.profiles.get(key)
        batch.profiles[key] = state
        if old is None or old.ctx is not state.ctx:
            batch.changed.add(key)
        batch.latest_at = max(batch.latest_at, at)

    def put_cart(self, batch: Batch, key: str, cart: cart_model.Cart | None) -> None:
        batch.carts[key] = cart
        batch.changed_carts.add(key)

    async def apply_one(self, record: Record, headers: dict[str, bytes], batch: Batch) -> None:
        try:
            decoded = self.runtime.decoder.decode(record.value)
        except DecodeError as exc:
            await self.dead_letter(record, exc.reason, exc)
            return
        key = record.key.decode() if record.key else ""
        kind = headers.get(CANONICAL_KIND_HEADER, b"").decode()
        await self.apply_decoded(batch, record, key, kind, decoded)

    async def apply_decoded(
        self, batch: Batch, record: Record, key: str, kind: str, decoded: Decoded
    ) -> None:
        """One record's effect on ``batch``, whether read from the topic or handed by stage 1.

        Outcomes are counted under this stage's topic either way; a dead letter
        keeps ``record``, where the bytes came from.
        """
        name, value = decoded.record, decoded.value
        if name == PROFILE_COMMAND:
            cmd = {**value, "at": to_millis(value["at"])}
            outcome = self.handle(batch, key, cmd)
            self.tally(self.topic_name, f"ProfileCommand.{value['command']}", outcome)
            return
        if name == CUSTOMER_FACT:
            fact = value
            cmd = {
                "command": fact["fact"],
                "state": fact["state"],
                "command_id": event_id_text(fact["envelope"]["event_id"]),
                "at": to_millis(fact["envelope"]["occurred_at"]),
                "canonical_kind": kind,
            }
            try:
                outcome = self.handle(batch, key, cmd)
            except (ValueError, KeyError, TypeError) as exc:
                # A payload the rules cannot read must not crash-loop the agent.
                await self.dead_letter(record, "invalid:bad_fact", exc)
                return
            self.tally(self.topic_name, f"CustomerFact.{fact['fact']}", outcome)
            return
        short = short_name(name)
        outcome = self.event(batch, key, kind, short, value, record)
        if outcome.startswith("invalid:"):
            await self.dead_letter(record, outcome, f"{short} refused: {outcome}")
            return
        self.tally(self.topic_name, short, outcome)

    def event(
        self, batch: Batch, key: str, kind: str, name: str, event: dict[str, Any], record: Record
    ) -> str:
        state = self.profile(batch, key, kind)
        if state.ctx.merged_into is not None:
            self.forward(batch, state.ctx.merged_into, record.value or b"")
            return "redirected"
        verdict, seen = idempotency.admit(state.seen, event["envelope"])
        if verdict is idempotency.Verdict.DUPLICATE:
            return "duplicate"
        ctx, at = state.ctx, meta(event).at
        if name in cart_side.CART_RECORDS and not ctx.erased:
            cart = self.cart(batch, key)
            prices = self.runtime.prices.as_of(at)
            folded = cart_side.apply_event(cart, key, state.kind, name, event, prices)
            if isinstance(folded, Rejected):
                # Not a business refusal: the event is malformed. Nothing of it applies.
                return f"invalid:{folded.reason}"
            new = cart_side.changed(folded, cart)
            if new is not None:
                self.put_cart(batch, key, new)
                ctx = rules.with_cart(ctx, cart_model.summary(new), at)
        outcome = rules.apply(ctx, name, event)
        if isinstance(outcome, Applied):
            ctx = outcome.state
            if ctx.erased and self.cart(batch, key) is not None:
                self.put_cart(batch, key, None)  # erasure forgets the cart too: tombstone
        self.put(batch, key, replace(state, ctx=ctx, seen=seen), at)
        return "rejected" if isinstance(outcome, Rejected) else verdict.value

    def handle(self, batch: Batch, key: str, cmd: dict[str, Any]) -> str:
        """Apply one ``ProfileCommand``; returns the outcome label for the metrics."""
        state = self.profile(batch, key, cmd["canonical_kind"])
        name, at = cmd["command"], cmd["at"]
        if state.ctx.merged_into is not None and name not in ("unmerged", "restore_state"):
            if name in ("absorb", "order_summary", "case_summary"):
                self.command(
                    batch,
                    state.ctx.merged_into,
                    {**cmd, "canonical_id": state.ctx.merged_into, "canonical_kind": ""},
                )
                return "redirected"
            return "unchanged"
        if cmd["command_id"] and cmd["command_id"] in state.seen.ids:
            return "duplicate"
        if cmd["command_id"]:
            state = replace(
                state, seen=idempotency.record(state.seen, cmd["command_id"], MERGE_SOURCE, None)
            )
        if name == "identifiers":
            ctx = rules.with_identifiers(state.ctx, cmd["keys"], at)
        elif name == "merge_out":
            ctx = self.merge_out(batch, key, state, cmd)
        elif name == "absorb":
            ctx, state = self.absorb(batch, key, state, cmd)
        elif name == "unmerged":
            ctx = self.unmerged(batch, key, state, cmd)
        elif name == "split":
            ctx, state = self.split(batch, key, state, cmd)
        elif name == "restore_state":
            ctx, state = self.restore(batch, key, state, cmd)
        elif name == "order_summary":
            data = orjson.loads(cmd["state"])
            ctx = rules.with_order(state.ctx, data["summary"], int(data.get("net_minor", 0)), at)
        elif name == "case_summary":
            data = orjson.loads(cmd["state"])
            ctx = rules.with_case(state.ctx, data["summary"], data.get("csat"), at)
        else:
            return "unknown_command"
        self.put(batch, key, replace(state, ctx=ctx), at)
        return "applied"

    def merge_out(
        self, batch: Batch, key: str, state: tables.ProfileState, cmd: dict[str, Any]
    ) -> model.Context:
        """At the loser: ship state to the survivor, tombstone the cart, leave a redirect."""
        survivor, at = cmd["other_id"], cmd["at"]
        cart = self.cart(batch, key)
        body = {
            **cmd,
            "command": "absorb",
            "canonical_id": survivor,
            "canonical_kind": cmd["other_kind"],
            "other_id": key,
            "other_kind": state.kind,
            "state": ship(state, cart),
        }
        self.command(batch, survivor, body)
        if cart is not None:
            self.put_cart(batch, key, cart_rules.merged_away(cart, survivor, at))
        return rules.redirect(state.ctx, survivor, at)

    def absorb(
        self, batch: Batch, key: str, state: tables.ProfileState, cmd: dict[str, Any]
    ) -> tuple[model.Context, tables.ProfileState]:
        """At the survivor: fold the loser's cart, context and applied event ids in."""
        data = orjson.loads(cmd["state"])
        loser_ctx = model.from_state_dict(data["ctx"])
        cart = self.cart(batch, key)
        merged = cart_side.absorb(cart, cart_side.unship(data.get("cart")), key, state.kind)
        ctx = rules.merge_into(state.ctx, loser_ctx)
        if merged is not cart and merged is not None:
            self.put_cart(batch, key, merged)
        ctx = rules.with_cart(ctx, cart_model.summary(merged), cmd["at"])
        seen = state.seen
        for event_id in data.get("seen", ()):
            seen = idempotency.record(seen, event_id, MERGE_SOURCE, None)
        state = replace(state, seen=seen)
        if cmd["merge_id"]:
            state = tables.with_absorbed(state, cmd["merge_id"], cmd["state"])
        return ctx, state

    def unmerged(
        self, batch: Batch, key: str, state: tables.ProfileState, cmd: dict[str, Any]
    ) -> model.Context:
        """At the loser: a profile of its own again (its history follows via ``restore_state``)."""
        ctx = replace(
            state.ctx,
            keys=frozenset(cmd["keys"]),
            merged_into=None,
            updated_at=max(state.ctx.updated_at, cmd["at"]),
            version=state.ctx.version + 1,
        )
        cart = self.cart(batch, key)
        if cart is not None and cart.status == "merged":
            self.put_cart(batch, key, None)
        return ctx

    def split(
        self, batch: Batch, key: str, state: tables.ProfileState, cmd: dict[str, Any]
    ) -> tuple[model.Context, tables.ProfileState]:
        """At the survivor of an undone merge: give the loser back what it brought."""
        merge_id, at = cmd["merge_id"], cmd["at"]
        snapshot = state.absorbed.get(merge_id)
        if snapshot is None:  # too old to undo with its history, or already given back
            return state.ctx, state
        data = orjson.loads(snapshot)
        ctx = rules.split(state.ctx, model.from_state_dict(data["ctx"]), at)
        theirs = cart_side.unship(data.get("cart"))
        cart = self.cart(batch, key)
        if cart is not None and theirs is not None:
            parted = cart_rules.split(cart, theirs, at)
            if parted is not cart:
                self.put_cart(batch, key, parted)
                ctx = rules.with_cart(ctx, cart_model.summary(parted), at)
        body = {
            **cmd,
            "command": "restore_state",
            "canonical_id": cmd["other_id"],
            "canonical_kind": cmd["other_kind"],
            "other_id": key,
            "other_kind": state.kind,
            "state": snapshot,
            "command_id": f"restore:{merge_id}",
        }
        self.command(batch, cmd["other_id"], body)
        absorbed = {k: v for k, v in state.absorbed.items() if k != merge_id}
        return ctx, replace(state, absorbed=absorbed)

    def restore(
        self, batch: Batch, key: str, state: tables.ProfileState, cmd: dict[str, Any]
    ) -> tuple[model.Context, tables.ProfileState]:
        """At the unmerged loser: its context, cart and applied ids from before the merge."""
        data = orjson.loads(cmd["state"])
        at = cmd["at"]
        ctx = rules.restored(state.ctx, model.from_state_dict(data["ctx"]), at)
        cart = cart_side.unship(data.get("cart"))
        if cart is not None and cart.lines:
            back = cart_rules.reopened(cart, at)
            self.put_cart(batch, key, back)
            ctx = rules.with_cart(ctx, cart_model.summary(back), at)
        seen = state.seen
        for event_id in data.get("seen", ()):
            seen = idempotency.record(seen, event_id, MERGE_SOURCE, None)
        return ctx, replace(state, seen=seen)

    def forward(self, batch: Batch, key: str, value: bytes) -> None:
        from streams.identity.tables import CANONICAL_HEADER

        batch.sends.append((key, value, [(CANONICAL_HEADER, key.encode())]))

    def command(self, batch: Batch, key: str, body: dict[str, Any]) -> None:
        encoded = self.runtime.encoder.encode(self.topic_name, PROFILE_COMMAND, body)
        batch.sends.append((key, encoded, None))

    async def flush(self, batch: Batch) -> None:
        encoder, metrics = self.runtime.encoder, self.runtime.metrics
        for key in sorted(batch.changed_carts):
            view = cart_side.view(batch.carts[key])
            value = (
                None if view is None else encoder.encode(self.cart_view, "omni.view.CartView", view)
            )
            await self.runtime.out.send(self.cart_view, key.encode(), value)
            metrics.views.labels("carts").inc()
        for key in sorted(batch.changed):
            ctx = batch.profiles[key].ctx
            value = encoder.encode(
                self.context_view, "omni.view.CustomerContext", model.to_view(ctx, wire_millis)
            )
            await self.runtime.out.send(self.context_view, key.encode(), value)
            metrics.views.labels("customer-context").inc()
        for key, data, headers in batch.sends:
            await self.runtime.out.send(self.topic_name, key.encode(), data, headers)
        if batch.latest_at and (batch.changed or batch.changed_carts):
            lag_s = max(time.time() - batch.latest_at / 1000, 0.0)
            metrics.latency.labels("customer-context").observe(lag_s)


def ship(state: tables.ProfileState, cart: cart_model.Cart | None) -> str:
    """The JSON a loser sends its survivor: context, cart and applied event ids."""
    return orjson.dumps(
        {
            "ctx": model.to_state_dict(state.ctx),
            "cart": cart_side.ship(cart),
            "seen": list(state.seen.ids),
        }
    ).decode()


def install(app: faust.App, runtime: Runtime) -> None:
    """Declare the context table, the profile agent and their internal HTTP views."""
    processor = ProfileProcessor(app, runtime)
    runtime.profiles = processor
    app.agent(processor.source, name="customer-profiles")(processor.run)
    views.install(app, processor)
