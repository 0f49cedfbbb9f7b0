"""The four source connectors as processes, and settings that point the simulator at them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import SecretStr

from schemas.settings import (
    CollectorSettings,
    ConnectorsSettings,
    InventorySettings,
    PosSettings,
    ServiceDeskSettings,
    Settings,
)
from tests.integration.connectors.collector_process import WRITE_KEYS
from tests.integration.connectors.connector_process import (
    DESK_SECRET,
    ERP_KEY,
    POS_KEY,
    ConnectorProcess,
    started,
)

SOURCES = ("collector", "pos", "servicedesk", "inventory")


@contextmanager
def source_connectors(settings: Settings, logs: Path) -> Iterator[dict[str, ConnectorProcess]]:
    """Every source connector on this test's topics; each must exit 0 on SIGTERM."""
    processes = [ConnectorProcess(name, settings, logs / f"{name}.log") for name in SOURCES]
    try:
        started(*processes)
        yield {process.name: process for process in processes}
    finally:
        codes = {process.name: process.stop() for process in processes}
    assert codes == dict.fromkeys(SOURCES, 0), [p.tail() for p in processes]


def simulator_settings(settings: Settings, connectors: dict[str, ConnectorProcess]) -> Settings:
    """``settings`` with each connector's port and credentials, as ``omni simulate`` reads them."""
    keys = [
        CollectorSettings.WriteKey(
            key=SecretStr(k["key"]), source=k["source"], channel=k["channel"]
        )
        for k in WRITE_KEYS
    ]
    tree = ConnectorsSettings(
        collector=CollectorSettings(port=connectors["collector"].port, write_keys=keys),
        pos=PosSettings(port=connectors["pos"].port, api_keys=[SecretStr(POS_KEY)]),
        service_desk=ServiceDeskSettings(
            port=connectors["servicedesk"].port, secrets=[SecretStr(DESK_SECRET)]
        ),
        inventory=InventorySettings(
            port=connectors["inventory"].port, api_keys=[SecretStr(ERP_KEY)]
        ),
    )
    return settings.model_copy(update={"connectors": tree})
