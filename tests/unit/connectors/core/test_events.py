"""Pure helpers of the framework: ids, hashes, the specialised key rule, log lines."""

from __future__ import annotations

import hashlib
import logging
import uuid

import orjson
import pytest

from connectors.core.events import derived_event_id, event_id_for, sha256_email, sha256_phone
from connectors.core.logs import JsonLineFormatter
from connectors.core.metrics import ConnectorMetrics
from connectors.core.publisher import key_function
from schemas.catalogue import CART_EVENTS, IDENTITY_KEY, ORDER_EVENTS, STOCK_LEVEL_VIEW
from schemas.exceptions import CatalogueError


def test_event_ids_keep_uuids_and_derive_the_rest_stably() -> None:
    given = uuid.uuid4()
    assert event_id_for("s", str(given)) == str(given)
    assert event_id_for("s", str(given).upper()) == str(given)
    assert event_id_for("s", "ajs-1") == event_id_for("s", "ajs-1") != event_id_for("t", "ajs-1")
    uuid.UUID(event_id_for("s", "ajs-1"))
    first = event_id_for("s", "x")
    assert (
        derived_event_id(first, "a") == derived_event_id(first, "a") != derived_event_id(first, "b")
    )


def test_contact_hashes_follow_the_contract() -> None:
    assert sha256_email(" Ada@Example.com ") == hashlib.sha256(b"ada@example.com").hexdigest()
    assert sha256_phone("+49 (30) 123-456") == hashlib.sha256(b"+4930123456").hexdigest()


@pytest.mark.parametrize(
    "value",
    [
        {"envelope": {"identifiers": {"customer_id": "c", "anonymous_id": "a"}}},
        {"envelope": {"identifiers": {"customer_id": "", "anonymous_id": "a"}}},
        {"envelope": {"identifiers": {"customer_id": None, "device_id": "d"}}},
        {"envelope": {"identifiers": {"loyalty_id": 7}}},
    ],
)
def test_the_specialised_key_rule_agrees_with_the_catalogue(value: dict[str, object]) -> None:
    fast = key_function(IDENTITY_KEY)
    assert fast is not None
    assert fast(value) == IDENTITY_KEY.key_of(value)


def test_the_specialised_key_rule_fails_like_the_catalogue() -> None:
    for rule in (CART_EVENTS.key, ORDER_EVENTS.key, STOCK_LEVEL_VIEW.key):
        fast = key_function(rule)
        assert fast is not None
        with pytest.raises(CatalogueError):
            fast({"envelope": {"identifiers": {}}})


def test_log_lines_are_one_json_object_with_the_fields() -> None:
    record = logging.LogRecord("omni.connectors.x", logging.INFO, __file__, 1, "request", (), None)
    record.fields = {"status": 200, "path": "/v1/batch"}
    line = orjson.loads(JsonLineFormatter().format(record))
    assert (line["level"], line["msg"], line["status"], line["path"]) == (
        "info",
        "request",
        200,
        "/v1/batch",
    )


def test_metrics_carry_the_connector_name() -> None:
    metrics = ConnectorMetrics("pos")
    metrics.published({"StockMovement": 3}, 0.01)
    metrics.reject("unauthorized")
    text = metrics.render().decode()
    assert 'omni_connector_events_total{connector="pos",record="StockMovement"} 3.0' in text
    assert 'omni_connector_rejects_total{connector="pos",reason="unauthorized"} 1.0' in text
