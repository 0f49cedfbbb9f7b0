"""The ERP feed against the real broker and registry: snapshots, movements, prices."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from schemas.catalogue import DEAD_LETTERS, PRICES, STOCK_MOVEMENTS
from tests.integration.connectors.connector_process import ERP_KEY, ConnectorProcess, started
from tests.integration.connectors.kafka_reader import read_events
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration

AT = "2025-03-01T06:00:00Z"


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("erp-inbox")


@pytest.fixture(scope="module")
def erp(
    contract_env: ContractEnv, inbox: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConnectorProcess]:
    options = {"WATCH_DIR": str(inbox), "SETTLE_S": "0.5", "POLL_INTERVAL_S": "0.2"}
    log = tmp_path_factory.mktemp("erp-log") / "inventory.log"
    [process] = started(ConnectorProcess("inventory", contract_env.settings, log, options))
    yield process
    assert process.stop() == 0, process.tail()


def post(erp: ConnectorProcess, route: str, body: Any, content_type: str = "") -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {"Authorization": f"Bearer {ERP_KEY}"}
    if content_type:
        headers["Content-Type"] = content_type
    return httpx.post(f"{erp.url}{route}", content=content, headers=headers, timeout=30)


def movements(env: ContractEnv, location: str, expected: int) -> list[Any]:
    return read_events(
        env,
        lambda item: item.value.get("location_id") == location,
        expected,
        topics=[STOCK_MOVEMENTS.physical(env.prefix)],
    )


def test_a_snapshot_becomes_counted_movements(
    erp: ConnectorProcess, contract_env: ContractEnv
) -> None:
    store = f"S-{uuid.uuid4().hex[:8]}"
    snapshot = {
        "snapshot_id": f"SN-{store}",
        "location_id": store,
        "counted_at": AT,
        "items": [{"sku": "A-1", "quantity": 7}, {"sku": "B-2", "quantity": 0}],
    }
    answer = post(erp, "/v1/inventory/snapshots", snapshot)
    assert (answer.status_code, answer.json()) == (200, {"accepted": 2})
    landed = sorted(movements(contract_env, store, 2), key=lambda item: item.key)
    assert [(m.key, m.value["kind"], m.value["quantity"]) for m in landed] == [
        ("A-1", "counted", 7),
        ("B-2", "counted", 0),
    ]
    assert {m.value["envelope"]["channel"] for m in landed} == {"erp"}
    assert {m.value["reference"] for m in landed} == {f"SN-{store}"}


def test_a_snapshot_file_in_the_folder_is_counted_too(
    erp: ConnectorProcess, inbox: Path, contract_env: ContractEnv
) -> None:
    store = f"S-{uuid.uuid4().hex[:8]}"
    name = f"snapshot-{store}.csv"
    rows = ["location_id,sku,quantity,counted_at", f"{store},A-1,3,{AT}", f"{store},B-2,-1,{AT}"]
    (inbox / name).write_text("\n".join(rows) + "\n")
    deadline = time.monotonic() + 30
    while not (inbox / "done" / name).exists():
        assert time.monotonic() < deadline, "the snapshot file was not read"
        time.sleep(0.2)
    [counted] = movements(contract_env, store, 1)
    assert (counted.key, counted.value["quantity"]) == ("A-1", 3)
    report = orjson.loads((inbox / "done" / f"{name}.rejects.json").read_bytes())
    assert [(r["line"], r["error"]) for r in report["rejects"]] == [
        (3, "quantity: a count must be zero or more")
    ]


def test_movements_by_csv_and_prices_by_json(
    erp: ConnectorProcess, contract_env: ContractEnv
) -> None:
    store = f"S-{uuid.uuid4().hex[:8]}"
    csv_body = (
        "movement_id,sku,location_id,kind,quantity,to_location_id,occurred_at\n"
        f"M-{store}-1,A-1,{store},received,10,,{AT}\n"
        f"M-{store}-2,A-1,{store},transferred,4,WH-1,{AT}\n"
    ).encode()
    assert post(erp, "/v1/inventory/movements", csv_body, "text/csv").json() == {"accepted": 2}
    landed = movements(contract_env, store, 2)
    assert sorted(m.value["kind"] for m in landed) == ["received", "transferred"]
    sku = f"P-{store}"
    prices = {"prices": [{"sku": sku, "price": "12.99", "price_id": f"{sku}/1", "updated_at": AT}]}
    assert post(erp, "/v1/inventory/prices", prices).status_code == 200
    [price] = read_events(
        contract_env,
        lambda item: item.key == sku,
        1,
        topics=[PRICES.physical(contract_env.prefix)],
    )
    assert (price.record, price.value["price_minor"]) == ("omni.pricing.PriceUpdated", 1299)


def test_a_bad_request_is_refused_whole_and_kept(
    erp: ConnectorProcess, contract_env: ContractEnv
) -> None:
    store = f"S-{uuid.uuid4().hex[:8]}"
    body = {
        "movements": [
            {
                "movement_id": "M",
                "sku": "A",
                "location_id": store,
                "kind": "reserved",
                "quantity": 1,
                "occurred_at": AT,
            }
        ]
    }
    answer = post(erp, "/v1/inventory/movements", body)
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("movements[0].kind: must be one of received")
    assert httpx.post(f"{erp.url}/v1/inventory/movements", content=b"{}").status_code == 401
    [dead] = read_events(
        contract_env,
        lambda item: store.encode() in item.raw,
        1,
        topics=[DEAD_LETTERS.physical(contract_env.prefix)],
    )
    assert dead.raw == orjson.dumps(body)
