"""Faust's last resume after a rebalance must not throw away runs it already delivered.

Faust's recovery resumes the flow, resumes the stream partitions and seeks
them to their committed offsets, then resumes the flow again
(``faust/tables/recovery.py``, ``on_recovery_completed``). Each resume of
``app.flow_control`` empties every agent queue
(``mode.utils.queues.FlowControlEvent.resume``). Runs fetched between the two
resumes are current (this generation, from the committed offset or later),
yet they are dropped from the queue unprocessed; a partition that was sought
*before* its fetch is never fetched again there, so the next run starts after
the hole. Faust's per-record path loses those records the same way. Here the
processors' offset watermark then skipped them for good: the fault suite's
churn row (a worker joining and leaving at once) lost events in most runs.

Keeping the runs is safe. The stream iterator skips events of an older
generation or taken while the flow is stopped, and a run that arrives twice
(once before its partition's seek, once after) is applied once: the
watermark skips what was applied. The queues are still emptied on a revoke
(``App._on_partitions_revoked`` clears them itself) and at shutdown.
"""

from __future__ import annotations

from typing import Any

from faust.types import AppT
from mode.utils.queues import FlowControlEvent

from streams.transport.batch import BatchMessage


class KeepRunsOnResume(FlowControlEvent):
    """``FlowControlEvent`` whose ``resume`` leaves queues of batch runs as they are."""

    def resume(self) -> None:
        self._suspend.clear()
        self._resume.set()
        for queue in self._queues:
            if not holds_runs(queue):
                queue.clear()


def holds_runs(queue: Any) -> bool:
    """Whether ``queue`` is an agent's queue of batch runs (a queue holds one kind)."""
    items = queue._queue  # asyncio.Queue's deque
    return bool(items) and isinstance(getattr(items[0], "message", None), BatchMessage)


def keep_runs_on_resume(app: AppT) -> None:
    """Give ``app``'s flow control the resume above (idempotent).

    The object stays the same (its class changes): queues already created
    hold a reference to it and must keep being flow-controlled by it.
    """
    flow = app.flow_control
    if type(flow) is FlowControlEvent:
        flow.__class__ = KeepRunsOnResume
