"""Faust's resume after a rebalance keeps delivered batch runs (see streams.transport.flow)."""

from __future__ import annotations

from types import SimpleNamespace

import faust
from aiokafka.structs import ConsumerRecord
from faust.types import TP
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from streams.transport import BATCH_SCHEME, BatchMessage, RecordBatch, batch_topic, register
from streams.transport.flow import KeepRunsOnResume, holds_runs, keep_runs_on_resume

SRC = TP("src", 0)


def run_event(first: int, last: int, generation: int = 1) -> SimpleNamespace:
    records = [
        ConsumerRecord("src", 0, o, o, 0, b"k", b"v", None, 1, 1, [])
        for o in range(first, last + 1)
    ]
    return SimpleNamespace(message=BatchMessage(RecordBatch(SRC, records), generation))


def plain_event() -> SimpleNamespace:
    return SimpleNamespace(message=SimpleNamespace(tp=SRC, offset=3))


def queue_of(flow: FlowControlEvent, *items: object) -> FlowControlQueue[object]:
    queue: FlowControlQueue[object] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    for item in items:
        queue.put_nowait(item)
    return queue


def test_a_batch_topic_gives_the_app_the_keeping_resume() -> None:
    register()
    app = faust.App("flow-unit", broker=f"{BATCH_SCHEME}://127.0.0.1:1", store="memory://")
    flow = app.flow_control
    batch_topic(app, "src")
    batch_topic(app, "other")
    assert app.flow_control is flow, "queues already made hold the original object"
    assert type(flow) is KeepRunsOnResume


def test_resume_keeps_runs_delivered_between_the_seeks_and_clears_other_queues() -> None:
    flow = FlowControlEvent()
    keep_runs_on_resume(SimpleNamespace(flow_control=flow))  # type: ignore[arg-type]
    runs = queue_of(flow, run_event(212, 270), run_event(271, 271))
    plain = queue_of(flow, plain_event(), plain_event())
    flow.resume()
    assert flow.is_active()
    assert [e.message.batch.records[0].offset for e in runs._queue] == [212, 271]  # type: ignore[attr-defined]
    assert plain.qsize() == 0


def test_stock_faust_drops_them_which_is_the_loss_this_prevents() -> None:
    flow = FlowControlEvent()
    runs = queue_of(flow, run_event(212, 270))
    flow.resume()
    assert runs.qsize() == 0


def test_a_revoke_still_clears_every_queue() -> None:
    flow = FlowControlEvent()
    keep_runs_on_resume(SimpleNamespace(flow_control=flow))  # type: ignore[arg-type]
    runs = queue_of(flow, run_event(1, 5))
    flow.suspend()
    flow.clear()  # what App._on_partitions_revoked does
    assert runs.qsize() == 0
    assert not flow.is_active()


def test_holds_runs_looks_at_what_the_queue_holds() -> None:
    flow = FlowControlEvent()
    assert not holds_runs(queue_of(flow))
    assert not holds_runs(queue_of(flow, plain_event()))
    assert holds_runs(queue_of(flow, run_event(0, 0)))
