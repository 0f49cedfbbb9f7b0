"""A collector process per test module, on that module's own topics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.connectors.collector_process import CollectorProcess
from tests.integration.support import ContractEnv


@pytest.fixture(scope="module")
def collector(
    contract_env: ContractEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CollectorProcess]:
    process = CollectorProcess(
        contract_env.settings, tmp_path_factory.mktemp("collector") / "collector.log"
    ).start()
    yield process
    assert process.stop() == 0, process.tail()
