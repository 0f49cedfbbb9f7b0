"""The service-desk webhook against the real broker and registry: signed events to Avro."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from connectors.core.events import sha256_phone
from connectors.servicedesk.signature import signed_headers
from schemas.catalogue import DEAD_LETTERS, SERVICE_CASES
from tests.integration.connectors.connector_process import DESK_SECRET, ConnectorProcess, started
from tests.integration.connectors.kafka_reader import read_events
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration

ROUTE = "/v1/servicedesk/events"


@pytest.fixture(scope="module")
def desk(
    contract_env: ContractEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConnectorProcess]:
    log = tmp_path_factory.mktemp("desk") / "servicedesk.log"
    [process] = started(ConnectorProcess("servicedesk", contract_env.settings, log))
    yield process
    assert process.stop() == 0, process.tail()


def post(
    desk: ConnectorProcess,
    body: Any,
    secret: str = DESK_SECRET,
    at: float | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    signed = signed_headers(secret, content, time.time() if at is None else at)
    return httpx.post(
        f"{desk.url}{ROUTE}", content=content, headers={**signed, **(headers or {})}, timeout=30
    )


def conversation(case_id: str) -> list[dict[str, Any]]:
    who = {"customer": {"phone": "+49 30 555 0101"}, "case_id": case_id}
    at = "2025-03-01T10:00:00Z"
    return [
        {
            "id": f"{case_id}-1",
            "type": "case.opened",
            "occurred_at": at,
            "channel": "chat",
            "subject": "Late parcel",
            "priority": "high",
            **who,
        },
        {
            "id": f"{case_id}-2",
            "type": "case.message",
            "occurred_at": at,
            "author": "customer",
            "medium": "chat",
            "body": "Where is it?",
            **who,
        },
        {"id": f"{case_id}-3", "type": "call.started", "occurred_at": at, "call_id": "K1", **who},
        {
            "id": f"{case_id}-4",
            "type": "call.ended",
            "occurred_at": at,
            "call_id": "K1",
            "duration_s": 95,
            **who,
        },
        {
            "id": f"{case_id}-5",
            "type": "case.resolved",
            "occurred_at": at,
            "resolution": "found",
            **who,
        },
        {"id": f"{case_id}-6", "type": "csat.submitted", "occurred_at": at, "score": 4, **who},
    ]


def test_signed_events_land_as_avro_on_the_service_cases_topic(
    desk: ConnectorProcess, contract_env: ContractEnv
) -> None:
    case_id = f"CASE-{uuid.uuid4().hex[:8]}"
    answer = post(desk, {"events": conversation(case_id)})
    assert (answer.status_code, answer.json()) == (200, {"accepted": 6})
    landed = read_events(
        contract_env,
        lambda item: item.key == case_id,
        expected=6,
        topics=[SERVICE_CASES.physical(contract_env.prefix)],
    )
    assert [item.record.rsplit(".", 1)[1] for item in landed] == [
        "CaseOpened",
        "CaseMessage",
        "CallStarted",
        "CallEnded",
        "CaseResolved",
        "CsatSubmitted",
    ]
    opened = landed[0].value
    assert (opened["priority"], opened["envelope"]["channel"]) == ("high", "chat")
    assert opened["envelope"]["identifiers"]["phone_sha256"] == sha256_phone("+4930 5550101")
    assert landed[3].value["duration_s"] == 95
    assert landed[5].value["score"] == 4


@pytest.mark.parametrize(
    ("kwargs", "detail"),
    [
        ({"secret": "not-the-secret"}, "does not match"),
        ({"at": 1_000_000_000.0}, "away from now; the limit is 300 s"),
        ({"headers": {"X-Omni-Signature": ""}}, "missing X-Omni-Signature"),
    ],
)
def test_a_bad_or_missing_signature_is_a_401_with_a_message(
    desk: ConnectorProcess, kwargs: dict[str, Any], detail: str
) -> None:
    answer = post(desk, conversation("CASE-X")[0], **kwargs)
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"
    assert detail in answer.json()["detail"]


def test_bad_json_or_a_missing_field_is_a_400_naming_it_and_the_body_is_kept(
    desk: ConnectorProcess, contract_env: ContractEnv
) -> None:
    tag = uuid.uuid4().hex[:8]
    not_json = f'{{"id": "{tag}", oops'.encode()
    answer = post(desk, not_json)
    assert (answer.status_code, answer.json()["error"]) == (400, "malformed_body")
    event = conversation(f"CASE-{tag}")[5]
    del event["score"]
    answer = post(desk, {"events": [conversation(f"CASE-{tag}")[0], event]})
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_event", "detail": "events[1].score: is required"}
    dead = read_events(
        contract_env,
        lambda item: tag.encode() in item.raw,
        expected=2,
        topics=[DEAD_LETTERS.physical(contract_env.prefix)],
    )
    assert {d.headers["omni.error.reason"] for d in dead} == {b"malformed_body", b"invalid_event"}
    assert not_json in {d.raw for d in dead}
