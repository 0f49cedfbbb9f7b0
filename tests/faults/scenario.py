"""One fault run: its workers, its workload, its producer, its verdict and its report row.

A row's test reads as its fault schedule: build a :class:`FaultRun`, start
workers, start a :class:`~tests.faults.pump.Pump`, inject faults while it
sends (each one :meth:`FaultRun.note`-d with its time), then
:meth:`FaultRun.verify`. The channel-facing doors (the HTTP collector) will
plug in here as another kind of producer; the verifier does not care who
produced the input.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from schemas import admin as topic_admin
from schemas.catalogue import (
    CART_EVENTS,
    CONSENT_EVENTS,
    CUSTOMER_INTERACTIONS,
    IDENTITY_EVENTS,
    ORDER_EVENTS,
    STOCK_LEVEL_VIEW,
    STOCK_MOVEMENTS,
)
from schemas.codec import FastDecoder, FastEncoder
from tests.faults.diagnose import table_versions, watermark_regressions
from tests.faults.fleet import Fleet
from tests.faults.pump import Pump, Sendable, encode
from tests.faults.replay import Expected
from tests.faults.report import Row
from tests.faults.verify import Codec, Comparison, ViewWatcher, dead_letters, replay_input
from tests.faults.workload import SEED_UNITS, Outgoing, Shape, Workload, generate
from tests.integration.streams.workers import worker_env
from tests.integration.support import ContractEnv

INPUTS = (
    STOCK_MOVEMENTS,
    ORDER_EVENTS,
    CART_EVENTS,
    CUSTOMER_INTERACTIONS,
    CONSENT_EVENTS,
    IDENTITY_EVENTS,
)
CONVERGE_TIMEOUT_S = 420.0


class FaultRun:
    """Everything one row needs, torn down by :meth:`close`."""

    def __init__(
        self, env: ContractEnv, tmp: Path, row: Row, extra_env: dict[str, str] | None = None
    ) -> None:
        self.env = env
        self.row = row
        self.started = time.monotonic()
        self.app_id = f"omni-fault-{uuid.uuid4().hex[:8]}"
        data = tmp / "data"
        variables = worker_env(env.settings, self.app_id, data) | (extra_env or {})
        self.fleet = Fleet(variables, tmp, data)
        self.codec = Codec(
            env.prefix,
            FastEncoder(env.client, env.schema_set),
            FastDecoder(env.client, env.schema_set),
        )
        self.watcher = ViewWatcher(env.settings, self.codec)
        self.note(f"app id {self.app_id}, topics {env.prefix}*, seed {row.seed}")

    def note(self, text: str) -> None:
        """Log one step of the fault schedule with its time since the start."""
        entry = f"{time.monotonic() - self.started:7.1f}s  {text}"
        self.row.schedule.append(entry)
        print(f"[{self.row.row}] {entry}", flush=True)

    def workload(self, count: int, shape: Shape | None = None, touch: bool = False) -> Workload:
        workload = generate(self.row.seed, count, shape, touch)
        self.note(f"workload: {len(workload.events)} events, seed {self.row.seed}")
        return workload

    def encode(self, events: Iterable[Outgoing]) -> list[Sendable]:
        return encode(self.codec.encoder, self.env.prefix, events)

    def pump(
        self, items: list[Sendable], rate: float | None = None, hold_at: int | None = None
    ) -> Pump:
        pump = Pump(self.env.settings.kafka, items, rate, hold_at)
        pump.start()
        self.note(f"producer started: {len(items)} records" + (f" at {rate:.0f}/s" if rate else ""))
        return pump

    def seed_stock(self, workload: Workload, timeout_s: float = 180.0) -> None:
        """Stock for the order SKUs, applied before any order (see the workload's doc)."""
        pump = self.pump(self.encode(workload.seeding))
        pump.join_checked()
        keys = {
            (STOCK_LEVEL_VIEW.name, f"{o.key}@{o.value['location_id']}") for o in workload.seeding
        }
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.watcher.drain()
            levels = [self.watcher.latest.get(key) for key in keys]
            if all(level is not None and level["on_hand"] == SEED_UNITS for level in levels):
                self.note(f"order SKUs seeded: {len(keys)} levels")
                return
            time.sleep(0.5)
        raise AssertionError(f"seeding not applied in {timeout_s}s:\n{self.fleet.tails()}")

    def verify(
        self,
        workload: Workload,
        pumps: Iterable[Pump],
        bad_ids: frozenset[str] = frozenset(),
        bad_records: int = 0,
    ) -> Comparison:
        """Replay the input, wait for the views to equal it, and fill the row's figures.

        ``bad_ids`` are well-formed events that must be dead-lettered, so the
        replay leaves them out; ``bad_records`` is how many dead letters the
        row sent on purpose (undecodable ones included).
        """
        pumps = list(pumps)
        for pump in pumps:
            pump.join_checked()
        acked = set().union(*(p.deliveries.acked_ids for p in pumps))
        self.row.sent = sum(p.sent for p in pumps)
        self.row.acked = sum(p.deliveries.acked for p in pumps)
        self.note(f"all sent: {self.row.sent} records, {self.row.acked} acknowledged")
        expected, present = replay_input(
            self.env.settings, self.codec, INPUTS, workload.buyers, bad_ids
        )
        expected.dead_letters += bad_records
        missing = acked - present - bad_ids
        result, waited = self.watcher.converge(expected, CONVERGE_TIMEOUT_S)
        self.note(
            f"views compared after {waited:.1f}s: "
            f"{result.keys} keys, {len(result.differing)} differ"
        )
        self.fill(result, len(missing), expected)
        running = self.fleet.running()
        if result.differing and running:
            url = self.fleet.worker(running[0]).url
            wanted = self.codec.normalised(expected)
            self.row.problems += table_versions(url, result.differing, wanted, self.watcher.latest)
        if result.differing:
            self.row.problems += watermark_regressions(self.env.settings.kafka, self.app_id)
        if missing:
            self.row.problems.append(f"{len(missing)} acknowledged events not in the input topics")
        self.row.problems += self.fleet.crashes()
        return result

    def settle(self, workload: Workload, pumps: Iterable[Pump]) -> Comparison:
        """Wait until the views equal the replay of what was sent so far (a phase boundary)."""
        for pump in pumps:
            pump.join_checked()
        expected, _ = replay_input(self.env.settings, self.codec, INPUTS, workload.buyers)
        result, waited = self.watcher.converge(expected, CONVERGE_TIMEOUT_S)
        self.note(f"settled in {waited:.1f}s: {len(result.differing)} of {result.keys} keys differ")
        return result

    def fill(self, result: Comparison, missing: int, expected: Expected) -> None:
        self.row.lost = result.lost + missing
        self.row.doubled = result.doubled
        self.row.differing = len(result.differing)
        self.row.dead_letters = len(dead_letters(self.env.settings, self.env.prefix))
        if result.by_view:
            self.row.problems.append(f"differing keys by view: {result.by_view}")
        self.row.problems += result.samples
        if self.row.dead_letters != expected.dead_letters:
            self.row.problems.append(
                f"{self.row.dead_letters} dead letters, expected {expected.dead_letters}"
            )

    def clean(self) -> bool:
        """The verdict: nothing lost or doubled, no key differs, no unexpected dead letter."""
        ok = not self._failed()
        self.row.verdict = "ok" if ok else "FAIL"
        self.row.seconds = time.monotonic() - self.started
        return ok

    def _failed(self) -> bool:
        row = self.row
        return bool(row.lost or row.doubled or row.differing or row.problems)

    def close(self) -> None:
        """Stop every worker and drop the app's own topics (changelogs, assignor)."""
        self.fleet.stop_all()
        self.watcher.close()
        if self._failed():
            self.note(f"kept the topics of {self.app_id} for diagnosis")
            return
        admin = topic_admin.make_admin(self.env.settings.kafka)
        names = [n for n in topic_admin.existing_topics(admin) if n.startswith(self.app_id)]
        if names:
            for future in admin.delete_topics(names, operation_timeout=30).values():
                future.result(timeout=30)
