"""The collector's HTTP contract against the real broker and registry."""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from schemas.catalogue import DEAD_LETTERS
from tests.integration.connectors.collector_process import (
    APP_KEY,
    WEB_KEY,
    CollectorProcess,
    basic_auth,
)
from tests.integration.connectors.kafka_reader import Landed, read_events
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration


def post(
    collector: CollectorProcess,
    path: str,
    body: dict[str, Any] | bytes,
    key: str | None = WEB_KEY,
    **headers: str,
) -> httpx.Response:
    if key is not None:
        headers["Authorization"] = basic_auth(key)
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(f"{collector.url}{path}", content=content, headers=headers, timeout=30)


def about(anonymous_id: str) -> Any:
    def match(landed: Landed) -> bool:
        ids = landed.value.get("envelope", {}).get("identifiers", {})
        return bool(ids.get("anonymous_id") == anonymous_id)

    return match


def test_batch_lands_on_the_catalogue_topics_keyed_and_decodable(
    collector: CollectorProcess, contract_env: ContractEnv
) -> None:
    anon = f"anon-{uuid.uuid4().hex}"
    batch = [
        {"type": "page", "anonymousId": anon, "properties": {"url": "http://x/p", "title": "P"}},
        {
            "type": "track",
            "anonymousId": anon,
            "event": "Product Added",
            "properties": {"sku": "SKU-1", "price": 9.5, "quantity": 2},
        },
        {"type": "track", "anonymousId": anon, "event": "Coupon Applied", "properties": {"c": 1}},
    ]
    answer = post(collector, "/v1/batch", {"batch": batch})
    assert (answer.status_code, answer.json()) == (200, {"success": True})
    landed = read_events(contract_env, about(anon), expected=3)
    by_record = {item.record: item for item in landed}
    assert set(by_record) == {
        "omni.customer.PageViewed",
        "omni.cart.CartItemAdded",
        "omni.customer.InteractionTracked",
    }
    added = by_record["omni.cart.CartItemAdded"]
    assert (added.topic, added.key, added.value["unit_price_minor"]) == (
        "omni.cart.events",
        anon,
        950,
    )
    assert added.value["envelope"]["source"] == "web-shop"
    assert by_record["omni.customer.PageViewed"].topic == "omni.customer.interactions"


def test_write_key_in_the_body_and_gzip_and_short_paths(
    collector: CollectorProcess, contract_env: ContractEnv
) -> None:
    anon = f"anon-{uuid.uuid4().hex}"
    body = {"writeKey": APP_KEY, "anonymousId": anon, "name": "Home"}
    answer = post(
        collector, "/v1/s", gzip.compress(orjson.dumps(body)), None, **{"Content-Encoding": "gzip"}
    )
    assert answer.status_code == 200, answer.text
    [landed] = read_events(contract_env, about(anon), expected=1)
    assert landed.record == "omni.customer.ScreenViewed"
    assert (landed.value["envelope"]["channel"], landed.value["envelope"]["source"]) == (
        "app",
        "ios-app",
    )


@pytest.mark.parametrize(
    ("key", "body", "detail"),
    [
        (None, {"batch": []}, "no write key"),
        ("wrong", {"batch": []}, "unknown write key"),
        (None, {"writeKey": "wrong", "batch": []}, "unknown write key"),
    ],
)
def test_auth_errors_are_401_json(
    collector: CollectorProcess, key: str | None, body: dict[str, Any], detail: str
) -> None:
    answer = post(collector, "/v1/batch", body, key)
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"
    assert detail in answer.json()["detail"]


def test_limits_are_413_naming_the_event(collector: CollectorProcess) -> None:
    big = {"type": "track", "anonymousId": "a", "event": "X", "properties": {"x": "y" * 33_000}}
    answer = post(collector, "/v1/batch", {"batch": [{"type": "page", "anonymousId": "a"}, big]})
    assert answer.status_code == 413
    assert answer.json()["detail"].startswith("batch[1]: event is ")
    huge = {"batch": [{**big, "properties": {"x": "y" * 20_000}}] * 30}
    assert post(collector, "/v1/batch", huge).status_code == 413
    assert post(collector, "/v1/track", big).status_code == 413


def test_invalid_event_is_400_naming_the_field_and_dead_lettered(
    collector: CollectorProcess, contract_env: ContractEnv
) -> None:
    marker = uuid.uuid4().hex
    batch = [
        {"type": "track", "anonymousId": marker, "event": "X"},
        {
            "type": "track",
            "anonymousId": marker,
            "event": "Product Added",
            "properties": {"sku": "S", "quantity": "two"},
        },
    ]
    answer = post(collector, "/v1/batch", {"batch": batch})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_event",
        "detail": "batch[1].properties.quantity: must be an integer",
    }
    dead = read_events(
        contract_env,
        lambda landed: marker.encode() in landed.raw,
        expected=1,
        topics=[DEAD_LETTERS.physical(contract_env.prefix)],
    )
    assert len(dead) == 1
    assert dead[0].headers["omni.error.reason"] == b"invalid_event"
    assert dead[0].headers["omni.source.topic"] == b"collector /v1/batch"
    assert orjson.loads(dead[0].raw)["batch"] == batch
    assert read_events(contract_env, about(marker), expected=1, timeout_s=3) == []


def test_malformed_json_and_unknown_routes_answer_json(collector: CollectorProcess) -> None:
    answer = post(collector, "/v1/batch", b"{not json")
    assert (answer.status_code, answer.json()["error"]) == (400, "malformed_body")
    missing = post(collector, "/v2/nothing", {})
    assert missing.status_code == 404
    assert set(missing.json()) == {"error", "detail"}


def test_cors_preflight_and_answers_for_browsers(collector: CollectorProcess) -> None:
    origin = "http://shop.localhost:8000"
    preflight = httpx.options(
        f"{collector.url}/v1/t",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"]
    refused = post(collector, "/v1/t", {"anonymousId": "a"}, "wrong", Origin=origin)
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == origin


def test_health_and_metrics(collector: CollectorProcess) -> None:
    assert httpx.get(f"{collector.url}/healthz").json()["status"] == "ok"
    post(collector, "/v1/track", {"anonymousId": "m", "event": "Metric Probe"})
    text = httpx.get(f"{collector.url}/metrics").text
    assert 'omni_connector_events_total{connector="collector",record="InteractionTracked"}' in text
    assert 'omni_connector_rejects_total{connector="collector",reason="unauthorized"}' in text
    assert "omni_connector_publish_latency_seconds_bucket" in text
    assert 'omni_connector_in_flight_records{connector="collector"} 0.0' in text


def test_beyond_max_in_flight_is_503_with_retry_after(
    contract_env: ContractEnv, tmp_path: Path
) -> None:
    small = CollectorProcess(
        contract_env.settings,
        tmp_path / "collector.log",
        extra_env={
            "OMNI_CONNECTORS__COLLECTOR__MAX_IN_FLIGHT": "2",
            "OMNI_CONNECTORS__COLLECTOR__RETRY_AFTER_S": "3",
        },
    ).start()
    try:
        batch = [{"type": "track", "anonymousId": "bp", "event": "X"} for _ in range(3)]
        answer = post(small, "/v1/batch", {"batch": batch})
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "3"
        assert answer.json()["error"] == "backpressure"
        assert post(small, "/v1/batch", {"batch": batch[:2]}).status_code == 200
    finally:
        assert small.stop() == 0
