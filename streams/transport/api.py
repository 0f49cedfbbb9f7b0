"""Wiring an app and an agent to the batching driver.

    register()                              make ``omnibatch://`` known to Faust
    app = faust.App(..., broker="omnibatch://host:9092")
    movements = batch_topic(app, "omni.inventory.movements")

    @app.agent(movements)
    async def fold(stream):
        async for batch in batches(stream):
            for record in batch:            # RawRecord: key, value, offset, ...
                ...                          # decode, apply pure rules
            table[key] = value               # each touched key once, per batch

Inside the loop body the batch's event is Faust's current event, so table reads
and writes go to the batch's partition exactly as for a per-record agent.

App settings that matter with batches: ``stream_buffer_maxsize`` counts
batches now (keep it small, e.g. 16: it bounds memory and what a crash makes
a worker redo), ``broker_max_poll_records`` caps a batch (``None``: whatever
one fetch returned), and ``producer_linger`` > 0 lets the changelog and output
records of a batch share produce requests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from faust.transport.drivers import TRANSPORTS
from faust.types import AppT, EventT, StreamT, TopicT

from streams.transport.batch import BatchMessage, BatchSchema, RecordBatch, in_flow
from streams.transport.driver import BATCH_SCHEME, Transport
from streams.transport.exceptions import NotABatch, WrongTransport
from streams.transport.flow import keep_runs_on_resume

DRIVER_PATH = f"{Transport.__module__}:{Transport.__qualname__}"


def register() -> None:
    """Add the ``omnibatch`` scheme to Faust's transport registry (idempotent).

    This is the programmatic twin of an entry point in the ``faust.transports``
    namespace; either way ``faust.App(broker="omnibatch://...")`` then picks the
    driver. Call it before the app's transport is first used (e.g. at import
    of the app module); :func:`batch_topic` calls it too.
    """
    TRANSPORTS[BATCH_SCHEME] = DRIVER_PATH


def batch_topic(app: AppT, *names: str, **options: Any) -> TopicT:
    """Declare ``names`` as batch topics of ``app`` and return their (one) Faust topic.

    Only topics declared here are batched; every other topic of the app keeps
    Faust's per-record path. The app's flow control stops dropping delivered
    runs when a rebalance ends (see :mod:`streams.transport.flow`). ``options``
    go to ``app.topic`` (partitions, retention, ...), except the schema, which
    must be the batch schema.
    """
    register()
    _transport(app, f"batch topics {names!r}").batch_topics.update(names)
    keep_runs_on_resume(app)
    return app.topic(*names, schema=BatchSchema(), **options)


async def batches(stream: StreamT[Any]) -> AsyncIterator[RecordBatch]:
    """The batches of a stream, each committable only once the loop body finished it.

    Faust acks an event when the agent asks for the next one, and also when the
    agent body raised. A batch marked ``done`` here was followed by a request
    for the next batch, which proves the body returned: a batch whose body
    raised, broke out of the loop or was cancelled stays unsettled, commits
    stop before it and it is processed again after a restart. (Iterating
    ``stream.events()`` directly works too, with Faust's plain semantics: a
    batch whose body raised is acked and committed like any event.)
    """
    async for event in stream.events():
        _, batch = _claim(event)
        yield batch
        settle(event)


Run = tuple[EventT[Any], RecordBatch]


async def rounds(stream: StreamT[Any], max_runs: int) -> AsyncIterator[Sequence[Run]]:
    """Batches that are already waiting, taken together: one outbox flush for all of them.

    Each batch is a run of one partition; a fetch round brings runs of many
    partitions and the agent used to wait for the producer's acknowledgement
    after each of them. Taking every run the conductor has already queued
    (at most ``max_runs``) lets the processor apply them all and wait once.
    It never waits for a run that is not there yet: a round is what is ready.

    Each run comes with its event, which the caller makes current while it
    reads and writes that run's table partition. The caller marks each run
    done with :func:`settle` once its state is written; a run left unsettled
    is never committed.
    """
    queue = stream.channel.queue  # type: ignore[attr-defined]  # a Topic's delivery queue
    app = stream.app
    events = stream.events().__aiter__()
    while True:
        try:
            round_ = [_claim(await events.__anext__())]
            while len(round_) < max_runs and _ready(queue, app):
                round_.append(_claim(await events.__anext__()))
        except StopAsyncIteration:
            return
        yield round_


def _transport(app: AppT, what: str) -> Transport:
    transport = app.transport
    if not isinstance(transport, Transport):
        raise WrongTransport(
            f"{what} need the app's broker to be {BATCH_SCHEME}://, "
            f"got {type(transport).__module__}.{type(transport).__qualname__}"
        )
    return transport


def revoked(event: EventT[Any]) -> bool:
    """Whether a run's partition may have moved since it was fetched: its state must not be written.

    Faust ends a revoke without waiting for agents to finish what they hold
    (``stream_wait_empty`` is off: a round that waits on the brokers would
    hold the whole group's rebalance). A run still being applied then belongs
    to a partition another worker may already restore and process; writing
    its state would put a stale value (and offset watermark) into that
    partition's changelog after the new owner's. Row 2 of the fault suite
    found such a write under CPU load: a watermark going back by 84 offsets
    within 3 ms. A run whose flow stopped or whose generation ended is left
    unwritten and unsettled instead: its offsets are not committed, and
    whoever owns the partition now applies it again, idempotently.
    """
    message = event.message
    return isinstance(message, BatchMessage) and not in_flow(event.app, message)


def settle(event: EventT[Any]) -> None:
    """Mark a run processed: its offsets may now be committed (no-op for plain events)."""
    message = event.message
    if isinstance(message, BatchMessage):
        message.done = True


def _claim(event: EventT[Any]) -> Run:
    message = event.message
    if not isinstance(message, BatchMessage):
        raise NotABatch(f"{message.tp} offset {message.offset} is not a batch")
    message.claimed = True
    return event, message.batch


def _ready(queue: Any, app: AppT) -> bool:
    """Whether the stream's next event is queued and will be delivered, not skipped.

    Faust's iterator skips events of an older generation or taken while the
    flow is stopped (a rebalance); asking it for one of those would wait for
    the next fresh event instead of returning, and hold the round.
    """
    if queue.empty():
        return False
    head = queue._queue[0]  # asyncio.Queue's deque: peek without taking
    message = getattr(head, "message", None)
    return isinstance(message, BatchMessage) and in_flow(app, message)
