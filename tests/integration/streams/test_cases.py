"""Service cases against the real broker: status, time to resolution, CSAT, duplicates, DLQ."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from schemas.catalogue import DEAD_LETTERS, SERVICE_CASES
from schemas.codec import FastEncoder
from schemas.samples import sample_event
from tests.integration.streams.workers import WorkerProcess, worker_env
from tests.integration.support import ContractEnv, consume_all

pytestmark = pytest.mark.integration


def case_event(name: str, case_id: str, at: datetime, **fields: Any) -> tuple[str, dict[str, Any]]:
    event = sample_event(f"omni.service.{name}", 1)
    event.update({"case_id": case_id, **fields})
    event["envelope"] = {
        **event["envelope"],
        "event_id": str(uuid.uuid4()),
        "occurred_at": at,
        "sequence": None,
    }
    return f"omni.service.{name}", event


@pytest.fixture(scope="module")
def worker(
    contract_env: ContractEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    data = tmp_path_factory.mktemp("cases-worker")
    env = worker_env(contract_env.settings, f"omni-test-{uuid.uuid4().hex[:8]}", data)
    process = WorkerProcess(env, "w1", data / "w1.log")
    process.start()
    yield process
    process.stop()


def case_api(worker: WorkerProcess, case_id: str) -> dict[str, Any] | None:
    answer = httpx.get(f"{worker.url}/v1/cases/{case_id}", timeout=10)
    if answer.status_code != 200:
        return None
    body: dict[str, Any] = answer.json()
    return body


def test_a_case_keeps_status_resolution_time_and_csat_once_per_event(
    contract_env: ContractEnv, worker: WorkerProcess
) -> None:
    case_id = f"CASE-{uuid.uuid4().hex[:8]}"
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    events = [
        case_event("CaseOpened", case_id, t0),
        case_event("CaseMessage", case_id, t0 + timedelta(seconds=5), author="customer"),
        case_event("CaseResolved", case_id, t0 + timedelta(seconds=90)),
        case_event("CsatSubmitted", case_id, t0 + timedelta(seconds=120), score=5),
    ]
    bad_csat = case_event("CsatSubmitted", case_id, t0 + timedelta(seconds=130), score=9)
    topic = SERVICE_CASES.physical(contract_env.prefix)
    encoder = FastEncoder(contract_env.client, contract_env.schema_set)
    producer = contract_env.producer()
    for name, event in [*events, *events, bad_csat]:  # every event twice, then an invalid one
        producer.produce(topic, encoder.encode(topic, name, event), key=case_id)
    assert producer.flush(30) == 0

    deadline = time.monotonic() + 60
    body = case_api(worker, case_id)
    while (body is None or body["csat"] is None) and time.monotonic() < deadline:
        time.sleep(0.3)
        body = case_api(worker, case_id)
    assert body is not None
    assert (body["status"], body["time_to_resolution_s"], body["csat"]) == ("resolved", 90, 5)
    assert body["messages"] == 1

    dlq = DEAD_LETTERS.physical(contract_env.prefix)
    letters = [
        m
        for m in consume_all(contract_env.consumer(dlq), 99, timeout_s=10)
        if m.key() == case_id.encode()
    ]
    assert [dict(m.headers())["omni.error.reason"] for m in letters] == [b"invalid:bad_score"]


def test_case_api_answers_404_and_400(worker: WorkerProcess) -> None:
    missing = httpx.get(f"{worker.url}/v1/cases/CASE-NOPE-{uuid.uuid4().hex[:6]}", timeout=10)
    assert missing.status_code == 404
    assert "no case known" in missing.json()["error"]
    assert httpx.get(f"{worker.url}/v1/cases/%20bad", timeout=10).status_code == 400
