"""The POS connector against the real broker and registry: files, HTTP, idempotency."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from schemas.catalogue import DEAD_LETTERS, IDENTITY_EVENTS, ORDER_EVENTS, STOCK_MOVEMENTS
from tests.integration.connectors.connector_process import POS_KEY, ConnectorProcess, started
from tests.integration.connectors.kafka_reader import Landed, read_events
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration

HEADER = "receipt_id,type,store_id,occurred_at,loyalty_id,line_id,sku,quantity,unit_price"
AT = "2025-03-01T10:00:00Z"


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pos-inbox")


@pytest.fixture(scope="module")
def pos(
    contract_env: ContractEnv, inbox: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConnectorProcess]:
    options = {"WATCH_DIR": str(inbox), "SETTLE_S": "1", "POLL_INTERVAL_S": "0.2"}
    log = tmp_path_factory.mktemp("pos-log") / "pos.log"
    [process] = started(ConnectorProcess("pos", contract_env.settings, log, options))
    yield process
    assert process.stop() == 0, process.tail()


def topics(env: ContractEnv, *names: str) -> list[str]:
    return [f"{env.prefix}{name}" for name in names]


def about(receipt_prefix: str) -> Any:
    def match(landed: Landed) -> bool:
        correlation = landed.value.get("envelope", {}).get("correlation_id") or ""
        return bool(correlation.startswith(receipt_prefix))

    return match


def drop(inbox: Path, name: str, data: bytes) -> None:
    """Write under a hidden name and rename in, as a careful writer does."""
    partial = inbox / f".{name}.tmp"
    partial.write_bytes(data)
    partial.rename(inbox / name)


def wait_done(inbox: Path, name: str, timeout_s: float = 30.0) -> Path:
    target = inbox / "done" / name
    deadline = time.monotonic() + timeout_s
    while not target.exists():
        assert time.monotonic() < deadline, f"{name} not read in {timeout_s} s"
        time.sleep(0.2)
    return target


def test_a_file_with_bad_rows_dead_letters_them_by_line_and_publishes_the_rest(
    pos: ConnectorProcess, inbox: Path, contract_env: ContractEnv
) -> None:
    tag = uuid.uuid4().hex[:8]
    bad_quantity = f"R-{tag}-2,sale,S1,{AT},,1,SKU-2,two,1.00"
    lines = [
        HEADER,
        f"R-{tag}-1,sale,S1,{AT},L-{tag},1,SKU-1,2,9.50",
        f"R-{tag}-1,sale,S1,{AT},L-{tag},2,SKU-2,1,3.00",
        bad_quantity,
        f"R-{tag}-3,loyalty_scan,S1,{AT},L-{tag},,,,",
        "broken,row",
    ]
    name = f"receipts-{tag}.csv"
    drop(inbox, name, "\n".join(lines).encode() + b"\n")
    wait_done(inbox, name)

    report = orjson.loads((inbox / "done" / f"{name}.rejects.json").read_bytes())
    assert [(r["line"], r["reason"]) for r in report["rejects"]] == [
        (4, "invalid_row"),
        (6, "malformed_row"),
    ]
    assert report["published"] == 4
    dead = read_events(
        contract_env,
        lambda landed: landed.headers.get("omni.source.file") == name.encode(),
        expected=2,
        topics=topics(contract_env, DEAD_LETTERS.name),
    )
    by_line = {int(d.headers["omni.source.line"]): d for d in dead}
    assert sorted(by_line) == [4, 6]
    assert by_line[4].raw == bad_quantity.encode()
    assert b"quantity: must be an integer" in by_line[4].headers["omni.error.message"]
    assert by_line[6].raw == b"broken,row"

    good = read_events(
        contract_env,
        about(f"R-{tag}-"),
        expected=4,
        topics=topics(contract_env, ORDER_EVENTS.name, IDENTITY_EVENTS.name),
    )
    records = sorted((g.record.rsplit(".", 1)[1], g.key) for g in good)
    assert records == [
        ("IdentifiersLinked", f"L-{tag}"),
        ("OrderPaid", f"R-{tag}-1"),
        ("OrderPickedUp", f"R-{tag}-1"),
        ("OrderPlaced", f"R-{tag}-1"),
    ]
    placed = next(g for g in good if g.record.endswith("OrderPlaced"))
    assert [
        (ln["sku"], ln["quantity"], ln["unit_price_minor"]) for ln in placed.value["lines"]
    ] == [
        ("SKU-1", 2, 950),
        ("SKU-2", 1, 300),
    ]
    assert placed.value["envelope"]["identifiers"]["loyalty_id"] == f"L-{tag}"


def receipt(receipt_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "receipt_id": receipt_id,
        "type": "sale",
        "store_id": "S1",
        "occurred_at": AT,
        "lines": [{"sku": "SKU-9", "quantity": 1, "unit_price": "4.99"}],
        **extra,
    }


def test_a_half_written_file_is_read_only_once_complete(
    pos: ConnectorProcess, inbox: Path, contract_env: ContractEnv
) -> None:
    tag = uuid.uuid4().hex[:8]
    data = b"".join(orjson.dumps(receipt(f"H-{tag}-{n}")) + b"\n" for n in range(3))
    name = f"receipts-{tag}.jsonl"
    path = inbox / name
    cut = data.index(b"\n") + 20  # one whole line and the start of the next
    path.write_bytes(data[:cut])
    for index in range(cut, cut + 8):  # a slow writer: the file keeps changing
        time.sleep(0.3)
        with path.open("ab") as handle:
            handle.write(data[index : index + 1])
    time.sleep(2.5)  # a stalled writer: unchanged past settle_s, but cut mid-line
    assert not (inbox / "done" / name).exists()
    assert path.exists()
    with path.open("ab") as handle:
        handle.write(data[cut + 8 :])
    wait_done(inbox, name)
    assert not (inbox / "done" / f"{name}.rejects.json").exists()
    landed = read_events(
        contract_env, about(f"H-{tag}-"), 9, topics=topics(contract_env, ORDER_EVENTS.name)
    )
    assert len(landed) == 9


def post(pos: ConnectorProcess, body: Any, key: str | None = POS_KEY, **headers: str) -> Any:
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(f"{pos.url}/v1/receipts", content=content, headers=headers, timeout=30)


def test_the_same_receipt_by_http_twice_and_by_file_has_the_same_event_ids(
    pos: ConnectorProcess, inbox: Path, contract_env: ContractEnv
) -> None:
    receipt_id = f"I-{uuid.uuid4().hex[:8]}"
    sale = receipt(receipt_id, loyalty_id="L-9")
    for _ in range(2):
        answer = post(pos, sale)
        assert (answer.status_code, answer.json()) == (200, {"accepted": 1, "events": 3})
    name = f"{receipt_id}.jsonl"
    (inbox / name).write_bytes(orjson.dumps(sale) + b"\n")
    (inbox / f"{name}.done").write_bytes(b"")
    wait_done(inbox, name)
    landed = read_events(
        contract_env, about(receipt_id), 9, topics=topics(contract_env, ORDER_EVENTS.name)
    )
    ids: dict[str, set[str]] = {}
    for item in landed:
        ids.setdefault(item.record, set()).add(item.value["envelope"]["event_id"])
    assert len(landed) == 9
    assert {record: len(found) for record, found in ids.items()} == {
        "omni.order.OrderPlaced": 1,
        "omni.order.OrderPaid": 1,
        "omni.order.OrderPickedUp": 1,
    }


def test_http_refuses_bad_input_naming_the_field_and_keeps_the_body(
    pos: ConnectorProcess, contract_env: ContractEnv
) -> None:
    assert post(pos, receipt("X-1"), key=None).status_code == 401
    assert post(pos, receipt("X-1"), key="nope").json()["detail"] == "unknown API key"
    tag = uuid.uuid4().hex[:8]
    bad = {"receipts": [receipt(f"B-{tag}-1"), receipt(f"B-{tag}-2", lines=[{"sku": "A"}])]}
    answer = post(pos, bad)
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_event",
        "detail": "receipts[1].lines[0].unit_price: is required (or unit_price_minor)",
    }
    csv_body = f"{HEADER}\nC-{tag},sale,S1,{AT},,1,SKU-1,1,x\n".encode()
    answer = post(pos, csv_body, **{"Content-Type": "text/csv"})
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("line 2: unit_price: must be a decimal number")
    dead = read_events(
        contract_env,
        lambda landed: tag.encode() in landed.raw,
        expected=2,
        topics=topics(contract_env, DEAD_LETTERS.name),
    )
    assert sorted(d.raw for d in dead) == sorted([orjson.dumps(bad), csv_body])
    assert {d.headers["omni.source.topic"] for d in dead} == {b"pos /v1/receipts"}
    nothing = read_events(
        contract_env,
        about(f"B-{tag}"),
        expected=1,
        timeout_s=3,
        topics=topics(contract_env, ORDER_EVENTS.name),
    )
    assert nothing == []


def test_a_return_without_an_order_puts_the_goods_back_in_stock(
    pos: ConnectorProcess, contract_env: ContractEnv
) -> None:
    receipt_id = f"RT-{uuid.uuid4().hex[:8]}"
    answer = post(pos, receipt(receipt_id, type="return"))
    assert answer.status_code == 200
    [moved] = read_events(
        contract_env, about(receipt_id), 1, topics=topics(contract_env, STOCK_MOVEMENTS.name)
    )
    assert (moved.key, moved.value["kind"], moved.value["location_id"]) == (
        "SKU-9",
        "returned",
        "S1",
    )
