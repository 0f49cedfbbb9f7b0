"""Desk events to omni.service records; the JSON Schema's examples are the contract's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from connectors.core.events import event_id_for, sha256_phone
from connectors.core.exceptions import InvalidEvent
from connectors.servicedesk.mapping import RECORD_OF, map_event
from connectors.servicedesk.server import events_of
from tests.unit.connectors.encodes import encodes

SCHEMA = orjson.loads(
    (Path(__file__).parents[4] / "connectors" / "servicedesk" / "event.schema.json").read_bytes()
)
EXAMPLES: list[dict[str, Any]] = SCHEMA["examples"]


def test_every_documented_example_maps_encodes_and_is_keyed_by_case_or_call() -> None:
    out = events_of({"events": EXAMPLES}, "service-desk")
    assert [o.record for o in out] == [RECORD_OF[e["type"]] for e in EXAMPLES]
    assert [encodes(o) for o in out] == ["CASE-9"] * 6
    opened, message, started = out[0].value, out[1].value, out[2].value
    assert opened["envelope"]["identifiers"]["phone_sha256"] == sha256_phone("+49 30 1234567")
    assert opened["envelope"]["session_id"] == "conv-77"
    assert opened["envelope"]["event_id"] == event_id_for("service-desk", "evt-1001")
    assert (message["envelope"]["channel"], started["envelope"]["channel"]) == (
        "chat",
        "call_centre",
    )


def test_the_schemas_type_enum_and_required_fields_match_the_mapping() -> None:
    event = SCHEMA["$defs"]["event"]
    assert event["properties"]["type"]["enum"] == list(RECORD_OF)
    for rule in event["allOf"]:
        kind = rule["if"]["properties"]["type"]["const"]
        example = next(e for e in EXAMPLES if e["type"] == kind)
        for field in rule["then"]["required"]:
            with pytest.raises(InvalidEvent, match=f"{field}: "):
                map_event({k: v for k, v in example.items() if k != field}, "", "desk")


def test_a_call_without_a_case_is_keyed_by_the_call() -> None:
    call = {"id": 7, "type": "call.started", "occurred_at": "2025-01-01T00:00:00Z", "call_id": 55}
    assert encodes(map_event(call, "", "desk")) == "55"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"score": 6}, r"events\[0\]\.score: must be from 1 to 5"),
        ({"score": "5"}, r"events\[0\]\.score: must be an integer"),
        ({"type": "case.closed"}, r"events\[0\]\.type: must be one of"),
        ({"occurred_at": "noon"}, r"events\[0\]\.occurred_at: must be an ISO-8601"),
        ({"customer": "alex"}, r"events\[0\]\.customer: must be an object"),
    ],
)
def test_bad_fields_are_named_with_their_path(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        events_of({"events": [{**EXAMPLES[5], **change}]}, "desk")
