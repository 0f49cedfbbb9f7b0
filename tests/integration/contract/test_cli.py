"""The ``omni`` CLI end to end: topics, schemas, produce and tail on the real stack."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

pytestmark = pytest.mark.integration


def omni(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from deploy.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=120,
        check=False,
    )


def test_produce_then_tail(kafka_bootstrap: str, schema_registry_url: str) -> None:
    env = {
        "OMNI_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "OMNI_SCHEMA_REGISTRY_URL": schema_registry_url,
        "OMNI_TOPICS__PREFIX": f"t{uuid.uuid4().hex[:10]}.",
        "OMNI_TOPICS__PARTITIONS_OVERRIDE": "1",
    }
    applied = omni(env, "topics", "apply")
    assert applied.returncode == 0, applied.stderr
    assert "0 unchanged" in applied.stdout
    again = omni(env, "topics", "apply")
    assert "0 created, 0 altered" in again.stdout
    registered = omni(env, "schemas", "register")
    assert registered.returncode == 0, registered.stderr

    event = {
        "envelope": {"identifiers": {"anonymous_id": "anon-42"}, "channel": "web"},
        "sku": "SKU-000042",
        "quantity": 2,
        "currency": "EUR",
    }
    produced = omni(env, "produce", "CartItemAdded", "--json", json.dumps(event))
    assert produced.returncode == 0, produced.stderr
    assert "key=anon-42" in produced.stdout

    tailed = omni(env, "tail", "omni.cart.events", "--max", "1", "--idle-timeout", "30")
    assert tailed.returncode == 0, tailed.stderr
    line = json.loads(tailed.stdout.strip().splitlines()[-1])
    assert line["record"] == "omni.cart.CartItemAdded"
    assert line["key"] == "anon-42"
    assert line["value"]["sku"] == "SKU-000042"
    assert line["value"]["quantity"] == 2
    assert line["value"]["envelope"]["channel"] == "web"


def test_produce_before_registration_says_what_to_run(
    kafka_bootstrap: str, schema_registry_url: str
) -> None:
    env = {
        "OMNI_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "OMNI_SCHEMA_REGISTRY_URL": schema_registry_url,
        "OMNI_TOPICS__PREFIX": f"t{uuid.uuid4().hex[:10]}.",
    }
    result = omni(
        env,
        "produce",
        "CartCleared",
        "--json",
        '{"envelope": {"identifiers": {"customer_id": "C1"}}}',
    )
    assert result.returncode == 1
    assert "omni schemas register" in result.stderr
    assert "Traceback" not in result.stderr
