"""Integration fixtures shared by every package's tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from schemas import admin as topic_admin
from schemas import registry
from schemas.avro import load_schema_set
from tests.integration.support import ContractEnv, drop_prefix, isolated_settings


@pytest.fixture(scope="module")
def contract_env(kafka_bootstrap: str, schema_registry_url: str) -> Iterator[ContractEnv]:
    """Every catalogue topic created and every schema registered under a fresh prefix."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    settings = isolated_settings(kafka_bootstrap, schema_registry_url, prefix)
    topic_admin.apply_topics(topic_admin.make_admin(settings.kafka), settings.topics)
    client = registry.make_client(settings.registry)
    schema_set = load_schema_set()
    done = registry.register_all(client, schema_set, prefix, settings.registry.compatibility)
    yield ContractEnv(settings, client, schema_set)
    drop_prefix(settings, client, [r.subject for r in done])
