"""Cases agent: fold ``omni.service.cases`` into ``cases_by_id``.

Thin by design: decode, call :mod:`streams.cases.rules`, write each touched
case once per batch. Status, time to resolution and CSAT live in the case
state; what the customer context needs is :func:`streams.cases.model.summary`
(the context processor reads it, this agent emits no view topic of its own).
Undecodable or invalid records (no case id, a CSAT outside 1-5, a negative
call duration) go to the dead-letter topic and the batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from schemas.catalogue import SERVICE_CASES
from schemas.exceptions import CatalogueError, DecodeError
from streams.cases import model, rules, tables, views
from streams.common import idempotency
from streams.common.events import short_name
from streams.common.outcome import Rejected
from streams.facts import FactPublisher
from streams.processor import BatchProcessor

if TYPE_CHECKING:
    import faust

    from streams.app import Runtime
    from streams.transport.batch import RawRecord as Record

RECORDS = frozenset(SERVICE_CASES.records)


@dataclass
class Batch:
    """One partition's worth of a batch: the cases it touched."""

    states: dict[str, tables.CaseState] = field(default_factory=dict)
    causes: dict[str, Mapping[str, Any]] = field(default_factory=dict)


class CasesProcessor(BatchProcessor):
    """Applies batches of case events; one instance per app."""

    def __init__(self, app: faust.App, runtime: Runtime) -> None:
        self.runtime = runtime
        partitions = runtime.settings.topics.partitions_override or SERVICE_CASES.partitions
        self.source = self.source_topic(
            app, SERVICE_CASES.physical(runtime.settings.topics.prefix), partitions=partitions
        )
        self.table = tables.cases_table(app, runtime, partitions)
        self.facts = FactPublisher(app, runtime)

    async def apply_partition(self, records: Sequence[Record]) -> Callable[[], None]:
        batch = Batch()
        for record in records:
            await self.apply_one(record, batch)
        for case_id, cause in batch.causes.items():
            case = batch.states[case_id].case
            if case is not None:
                await self.tell_customer(case, cause)
        return partial(self.store, batch)

    def store(self, batch: Batch) -> None:
        """Write each touched key once; called after the batch's emissions were flushed."""
        for case_id, state in batch.states.items():
            self.write(case_id.encode(), tables.encode(state))

    async def tell_customer(self, case: model.Case, cause: Mapping[str, Any]) -> None:
        """The case's summary, for the context of whoever the causing event names."""
        state = {"summary": model.summary(case), "csat": case.csat_score}
        await self.facts.tell("case_summary", case, case.case_id, cause, state)

    async def apply_one(self, record: Record, batch: Batch) -> None:
        try:
            decoded = self.runtime.decoder.decode(record.value)
        except DecodeError as exc:
            await self.dead_letter(record, exc.reason, exc)
            return
        name, event = decoded.record, decoded.value
        if name not in RECORDS:
            await self.dead_letter(record, "unexpected_record", f"{name} on {record.topic}")
            return
        try:
            key = SERVICE_CASES.key.key_of(event) if SERVICE_CASES.key else ""
        except CatalogueError as exc:
            await self.dead_letter(record, "invalid:no_case_id", exc)
            return
        state = batch.states.get(key) or self.load(key)
        verdict, seen = idempotency.admit(state.seen, event["envelope"])
        label = short_name(name)
        if verdict is idempotency.Verdict.DUPLICATE:
            self.runtime.metrics.events.labels(record.topic, label, "duplicate").inc()
            return
        outcome = rules.apply(state.case, name, event)
        if isinstance(outcome, Rejected):
            await self.dead_letter(record, f"invalid:{outcome.reason}", outcome.detail)
            return
        batch.states[key] = tables.CaseState(outcome.state, seen)
        batch.causes[key] = event["envelope"]
        self.runtime.metrics.events.labels(record.topic, label, verdict.value).inc()

    def load(self, key: str) -> tables.CaseState:
        data = self.table.get(key.encode())
        return tables.decode(data) if data is not None else tables.CaseState(None)


def install(app: faust.App, runtime: Runtime) -> None:
    """Declare the cases table, agent and HTTP view on ``app``."""
    processor = CasesProcessor(app, runtime)
    app.agent(processor.source, name="service-cases")(processor.run)
    views.install(app, processor)
