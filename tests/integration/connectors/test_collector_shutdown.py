"""SIGTERM under load: the collector drains, exits 0, and every event answered 200 is in Kafka."""

from __future__ import annotations

import signal
import socket
import threading
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from tests.integration.connectors.collector_process import WEB_KEY, CollectorProcess, basic_auth
from tests.integration.connectors.kafka_reader import Landed, read_events
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration

CLIENTS = 6
BATCH = 20
MAX_REQUESTS_PER_CLIENT = 2_000
LOAD_BEFORE_SIGTERM_S = 1.5


class Sender(threading.Thread):
    """Posts batches until the collector stops answering; remembers what was answered 200."""

    def __init__(self, url: str, marker: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url, self.marker, self.stop = url, marker, stop
        self.accepted: list[str] = []
        self.answered_at: list[float] = []
        self.refused: list[int] = []
        self.failed = 0

    def run(self) -> None:
        headers = {"Authorization": basic_auth(WEB_KEY)}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as client:
            for _ in range(MAX_REQUESTS_PER_CLIENT):
                if self.stop.is_set() or self.failed >= 3:
                    return
                ids = [str(uuid.uuid4()) for _ in range(BATCH)]
                batch = [
                    {"type": "track", "event": "Load", "anonymousId": self.marker, "messageId": i}
                    for i in ids
                ]
                try:
                    answer = client.post("/v1/batch", content=orjson.dumps({"batch": batch}))
                except httpx.TransportError:
                    self.failed += 1
                    time.sleep(0.05)
                    continue
                if answer.status_code == 200:
                    self.accepted.extend(ids)
                    self.answered_at.append(time.monotonic())
                else:
                    self.refused.append(answer.status_code)


def test_sigterm_under_load_loses_no_accepted_event(
    contract_env: ContractEnv, tmp_path: Path
) -> None:
    collector = CollectorProcess(contract_env.settings, tmp_path / "collector.log").start()
    marker = f"sigterm-{uuid.uuid4().hex}"
    stop = threading.Event()
    senders = [Sender(collector.url, marker, stop) for _ in range(CLIENTS)]
    for sender in senders:
        sender.start()
    time.sleep(LOAD_BEFORE_SIGTERM_S)
    accepted_before = sum(len(s.accepted) for s in senders)
    signalled_at = time.monotonic()
    code = collector.stop(signal.SIGTERM)
    for sender in senders:
        sender.join(60)
    stop.set()
    assert code == 0, collector.tail()
    accepted = {event_id for sender in senders for event_id in sender.accepted}
    assert accepted_before > 0
    # Requests running when SIGTERM came were finished (answered 200), not cut off.
    drained = sum(1 for s in senders for at in s.answered_at if at > signalled_at)
    assert drained > 0, "no request was in flight at SIGTERM: the test did not test draining"
    assert all(status == 503 for s in senders for status in s.refused), [s.refused for s in senders]

    def ours(landed: Landed) -> bool:
        return bool(landed.value["envelope"]["identifiers"]["anonymous_id"] == marker)

    landed = read_events(contract_env, ours, expected=len(accepted), timeout_s=60)
    in_kafka = {str(item.value["envelope"]["event_id"]) for item in landed}
    missing = accepted - in_kafka
    assert not missing, f"{len(missing)} of {len(accepted)} accepted events are not in Kafka"
    assert '"msg":"draining"' in collector.tail(200)


def test_a_request_whose_body_is_still_arriving_at_sigterm_is_answered(
    contract_env: ContractEnv, tmp_path: Path
) -> None:
    """Headers in, body on its way when SIGTERM comes: answered 200, in Kafka, no long drain.

    aiohttp drops what arrives on a connection once its shutdown began, so
    without the connector's own drain this request waited for the rest of its
    body until the 30 s drain timeout and failed.
    """
    collector = CollectorProcess(contract_env.settings, tmp_path / "collector.log").start()
    assert collector.proc is not None
    marker, event_id = f"half-{uuid.uuid4().hex}", str(uuid.uuid4())
    event = {"type": "track", "event": "Load", "anonymousId": marker, "messageId": event_id}
    body = orjson.dumps({"batch": [event]})
    head = (
        "POST /v1/batch HTTP/1.1\r\nHost: collector\r\n"
        f"Authorization: {basic_auth(WEB_KEY)}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", collector.port), timeout=20) as sock:
        sock.sendall(head + body[:10])
        time.sleep(0.5)  # the handler runs and waits for the rest of the body
        signalled = time.monotonic()
        collector.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the drain has begun
        sock.sendall(body[10:])
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200"), reply[:300]
    assert collector.proc.wait(20) == 0, collector.tail()
    drained_s = time.monotonic() - signalled
    assert drained_s < 10, f"the drain took {drained_s:.1f} s: it waited for its timeout"

    def ours(landed: Landed) -> bool:
        return bool(landed.value["envelope"]["identifiers"]["anonymous_id"] == marker)

    landed = read_events(contract_env, ours, expected=1, timeout_s=60)
    assert [str(item.value["envelope"]["event_id"]) for item in landed] == [event_id]
