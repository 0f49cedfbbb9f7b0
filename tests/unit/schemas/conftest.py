"""Shared fixtures of the contract unit tests."""

from __future__ import annotations

import pytest

from schemas.avro import SchemaSet, load_schema_set


@pytest.fixture(scope="session")
def schema_set() -> SchemaSet:
    return load_schema_set()
