"""``make run``'s workers: started detached, found again, stopped by pid."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from deploy.local.workers import Workers
from schemas.settings import LocalRuntimeSettings, StreamsSettings
from tests.integration.streams.workers import free_port
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration


def test_workers_up_reuse_and_down(contract_env: ContractEnv, tmp_path: Path) -> None:
    settings = contract_env.settings.model_copy(
        update={
            "local": LocalRuntimeSettings(home=tmp_path / "home"),
            "streams": StreamsSettings(
                app_id=f"omni-test-{uuid.uuid4().hex[:8]}",
                data_dir=tmp_path / "data",
                web_port=free_port(),
                standby_replicas=0,
            ),
        }
    )
    fleet = Workers(settings, 1)
    # The child reads its settings from the environment, as `omni up` children do.
    env_backup = dict(os.environ)
    os.environ.update(
        {
            "OMNI_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
            "OMNI_SCHEMA_REGISTRY_URL": settings.registry.url,
            "OMNI_TOPICS__PREFIX": settings.topics.prefix,
            "OMNI_STREAMS__APP_ID": settings.streams.app_id,
            "OMNI_STREAMS__DATA_DIR": str(settings.streams.data_dir),
        }
    )
    try:
        first = fleet.up()
        assert not first.reused
        assert fleet.answers(1)
        (pid,) = first.started_pids
        again = Workers(settings, 1).up()
        assert again.reused
        assert Workers(settings, 1).running() == {1: pid}
        assert Workers(settings, 1).down() == [pid]
        assert fleet.running() == {1: None}
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
    finally:
        fleet.down()
        os.environ.clear()
        os.environ.update(env_backup)
