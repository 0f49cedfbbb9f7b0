"""Pacing and credentials of the simulator's requests."""

from __future__ import annotations

import base64

import orjson
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from connectors.core.exceptions import ConnectorConfigError
from connectors.servicedesk.signature import verify
from connectors.simulator.messages import Messages
from connectors.simulator.pacing import Pacer
from connectors.simulator.send import Endpoints, stamped
from deploy.cli import app
from schemas.settings import (
    CollectorSettings,
    ConnectorsSettings,
    InventorySettings,
    PosSettings,
    ServiceDeskSettings,
    Settings,
)

NOW = 1_800_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_pacer_books_slots_at_the_rate_and_never_bursts_to_catch_up() -> None:
    clock = FakeClock()
    pacer = Pacer(10, clock=clock)
    assert [pacer.reserve(n) for n in (5, 5, 1)] == [0.0, 0.5, 1.0]
    clock.now += 60  # the connectors were slow: no burst of 600 afterwards
    assert pacer.reserve(1) == 0.0
    assert pacer.reserve(1) == pytest.approx(0.1)
    assert Pacer(0, clock=clock).reserve(1000) == 0.0


def settings() -> Settings:
    web = CollectorSettings.WriteKey(key=SecretStr("wk-web"), source="web-shop", channel="web")
    app = CollectorSettings.WriteKey(key=SecretStr("wk-app"), source="ios", channel="app")
    return Settings(
        connectors=ConnectorsSettings(
            collector=CollectorSettings(port=9001, write_keys=[web, app]),
            pos=PosSettings(host="0.0.0.0", port=9002, api_keys=[SecretStr("pos-key")]),
            service_desk=ServiceDeskSettings(port=9003, secrets=[SecretStr("desk")]),
            inventory=InventorySettings(port=9004, api_keys=[SecretStr("erp-key")]),
        )
    )


def test_each_connector_gets_its_own_credentials_from_the_settings() -> None:
    endpoints = Endpoints.from_settings(settings())
    m = Messages(1, "t")
    app = m.batch([m.segment({"anonymousId": "a"}, "page")], key="app")
    auth = endpoints.headers(app, b"{}", NOW)["Authorization"]
    assert base64.b64decode(auth.removeprefix("Basic ")) == b"wk-app:"
    pos = m.receipt("pickup", "R1", "S1", order_id="O1")
    assert endpoints.headers(pos, b"{}", NOW)["Authorization"] == "Bearer pos-key"
    assert endpoints.urls["pos"] == "http://127.0.0.1:9002"
    desk = m.desk([{"type": "case.resolved", "case_id": "C1"}])
    body = orjson.dumps(stamped(desk, NOW))
    headers = endpoints.headers(desk, body, NOW)
    verify(["desk"], body, headers["X-Omni-Signature"], headers["X-Omni-Timestamp"], NOW, 300)


def test_stamping_sets_the_time_and_leaves_the_plan_untouched() -> None:
    m = Messages(1, "t")
    step = m.delivery("S1", {"A": 3})
    body = stamped(step, NOW)
    assert body["movements"][0]["occurred_at"] == "2027-01-15T08:00:00.000+00:00"
    assert "occurred_at" not in step.body["movements"][0]


def test_omni_simulate_without_credentials_says_which_setting_to_set() -> None:
    result = CliRunner().invoke(
        app, ["simulate", "--customers", "1"], env={"OMNI_CONNECTORS__COLLECTOR__WRITE_KEYS": None}
    )
    assert isinstance(result.exception, ConnectorConfigError), result.output
    assert "OMNI_CONNECTORS__COLLECTOR__WRITE_KEYS" in str(result.exception)
