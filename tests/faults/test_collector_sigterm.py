"""Row 8 (collector SIGTERM under load): every request answered 200 has all its events in Kafka.

A deploy or a scale-down sends the collector SIGTERM while SDKs keep posting.
Its promise (``connectors.core.http``): stop accepting, finish every running
request, flush the producer, exit 0. A request it does not take is refused,
with a 503 or a refused connection once the socket is closed, and the SDK
sends it again; so only a request answered 200 can be lost, and none may be.

The clients are the collector shutdown test's senders (batches of UUID
``messageId``s under one anonymous id, each thread posting until the
collector stops answering). After SIGTERM every ``messageId`` answered 200
is looked up on its topic, read_committed. Report: requests sent, answered
200 and refused, and lost (0).
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from connectors.collector.mapping import INTERACTION_TRACKED
from schemas.catalogue import ALL_TOPICS
from tests.faults.conftest import FaultConfig
from tests.faults.landed import event_ids
from tests.faults.report import Row
from tests.faults.scenario import FaultRun
from tests.integration.connectors.collector_process import CollectorProcess
from tests.integration.connectors.test_collector_shutdown import BATCH, Sender
from tests.integration.support import ContractEnv

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
CLIENTS = 6
LOAD_S = 2.0
DRAINING_LOG = '"msg":"draining"'


def tally(run: FaultRun, senders: Sequence[Sender], signalled_at: float) -> None:
    """Requests sent, answered 200 and refused; a refusal other than 503 is a problem."""
    ok = sum(len(s.answered_at) for s in senders)
    statuses = Counter(status for s in senders for status in s.refused)
    unreachable = sum(s.failed for s in senders)
    drained = sum(1 for s in senders for at in s.answered_at if at > signalled_at)
    run.row.sent = ok + statuses.total() + unreachable
    run.row.acked = ok
    run.note(
        f"{run.row.sent} requests: {ok} answered 200 ({drained} of them after SIGTERM), "
        f"{statuses[503]} answered 503, {unreachable} connection errors"
    )
    if statuses.keys() - {503}:
        run.row.problems.append(f"refused with other than 503: {dict(statuses)}")
    if drained == 0:
        run.row.problems.append("no request was answered after SIGTERM: draining was not tested")
    refused = statuses.total() + unreachable
    run.row.figure = (
        f"{run.row.sent} req: 200 {ok}, refused {refused} (503 {statuses[503]}, conn {unreachable})"
    )


def count_losses(run: FaultRun, senders: Sequence[Sender], marker: str) -> None:
    """Every event of a request answered 200 must be on the topic, once."""
    accepted = {event_id for s in senders for event_id in s.accepted}
    [topic] = [t for t in ALL_TOPICS if t.carries(INTERACTION_TRACKED)]
    ours = event_ids(run, [topic], lambda env: bool(env["identifiers"]["anonymous_id"] == marker))
    found = ours[topic.name]
    run.row.lost = len(accepted - found.keys())
    run.row.doubled = sum(n - 1 for n in found.values() if n > 1)
    run.note(
        f"{len(accepted)} accepted events: {len(accepted) - run.row.lost} in Kafka, "
        f"{run.row.lost} lost, {run.row.doubled} doubled; "
        f"{len(found.keys() - accepted)} more from requests not answered 200"
    )
    run.row.figure += f", lost {run.row.lost}"


def test_sigterm_under_load_loses_no_event_answered_200(
    fault_env: ContractEnv,
    fault_config: FaultConfig,
    fault_report: Callable[[Row], None],
    tmp_path: Path,
) -> None:
    row = Row("8 collector SIGTERM under load", fault_config.seed)
    fault_report(row)
    run = FaultRun(fault_env, tmp_path, row)
    collector = CollectorProcess(fault_env.settings, tmp_path / "collector.log")
    marker = f"sigterm-{uuid.uuid4().hex}"
    stop = threading.Event()
    senders = [Sender(collector.url, marker, stop) for _ in range(CLIENTS)]
    try:
        collector.start()
        for sender in senders:
            sender.start()
        run.note(f"collector ready; {CLIENTS} clients posting batches of {BATCH} events")
        time.sleep(LOAD_S)
        signalled_at = time.monotonic()
        code = collector.stop(signal.SIGTERM)
        run.note(f"SIGTERM: collector exited {code} after {time.monotonic() - signalled_at:.1f}s")
        for sender in senders:
            sender.join(60)
        if code != 0 or DRAINING_LOG not in collector.tail(200):
            row.problems.append(f"collector exited {code} without draining:\n{collector.tail()}")
        tally(run, senders, signalled_at)
        count_losses(run, senders, marker)
    finally:
        stop.set()
        collector.stop(signal.SIGKILL)  # only if still running: after a failure above
        for sender in senders:
            if sender.is_alive():
                sender.join(10)
        run.close()
    assert run.clean(), "\n".join(row.problems)
