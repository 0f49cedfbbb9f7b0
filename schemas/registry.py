"""Putting the contract into the schema registry and keeping it compatible.

The registry is the authority on compatibility, so ``check_against_registry``
asks its ``/compatibility`` endpoint rather than trusting our own checker.
``compatibility.lock.json`` keeps every published version of every record: on a
fresh registry (CI, a new environment) the test replays those versions into a
scratch subject and asks the registry whether today's schema may follow them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from schemas.avro import SCHEMAS_DIR, SchemaSet
from schemas.catalogue import ALL_TOPICS, subject_for
from schemas.exceptions import CompatibilityError, RegistryError
from schemas.settings import RegistrySettings

LOCK_FILE = SCHEMAS_DIR / "compatibility.lock.json"


def make_client(settings: RegistrySettings) -> SchemaRegistryClient:
    """A registry client for the Confluent-compatible API of any registry we support."""
    return SchemaRegistryClient(settings.as_client_dict())


def _call(what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except SchemaRegistryError as exc:
        raise RegistryError(f"{what}: {exc.error_message} (HTTP {exc.http_status_code})") from exc
    except Exception as exc:
        raise RegistryError(f"{what}: {exc}") from exc


def to_schema(definition: dict[str, Any]) -> Schema:
    return Schema(json.dumps(definition, separators=(",", ":")), "AVRO")


@dataclass(frozen=True)
class Registration:
    subject: str
    schema_id: int


def register_all(
    client: SchemaRegistryClient,
    schema_set: SchemaSet,
    prefix: str = "",
    compatibility: str = "FULL_TRANSITIVE",
) -> list[Registration]:
    """Set each subject's compatibility, then register the record under it.

    Registering an identical schema again returns the same id, so this is safe
    to run at every start-up.
    """
    done: list[Registration] = []
    for topic in ALL_TOPICS:
        for record in topic.records:
            subject = subject_for(topic.physical(prefix), record)
            _call(subject, client.set_compatibility, subject, compatibility)
            schema = to_schema(schema_set.expanded(record))
            schema_id = _call(subject, client.register_schema, subject, schema)
            done.append(Registration(subject, int(schema_id)))
    return done


def check_against_registry(
    client: SchemaRegistryClient, schema_set: SchemaSet, prefix: str = ""
) -> list[str]:
    """Problems the registry reports for today's schemas against what it holds."""
    subjects = set(_call("listing subjects", client.get_subjects))
    problems = []
    for topic in ALL_TOPICS:
        for record in topic.records:
            subject = subject_for(topic.physical(prefix), record)
            if subject not in subjects:
                continue
            schema = to_schema(schema_set.expanded(record))
            ok = _call(subject, client.test_compatibility, subject, schema)
            if not ok:
                problems.append(f"{subject}: not compatible with the registered versions")
    return problems


def check_versions(
    client: SchemaRegistryClient,
    versions: Iterable[dict[str, Any]],
    candidate: dict[str, Any],
    compatibility: str,
) -> bool:
    """Would the registry accept ``candidate`` after ``versions`` under ``compatibility``?

    Uses a scratch subject so nothing real is touched.
    """
    subject = f"omni-compat-check-{uuid.uuid4().hex}"
    _call(subject, client.set_compatibility, subject, compatibility)
    try:
        for version in versions:
            _call(subject, client.register_schema, subject, to_schema(version))
        return bool(_call(subject, client.test_compatibility, subject, to_schema(candidate)))
    finally:
        _call(subject, client.delete_subject, subject, permanent=False)


def read_lock(path: Path = LOCK_FILE) -> dict[str, list[dict[str, Any]]]:
    """Every published version of every record, oldest first."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise CompatibilityError(f"{path.name} is not a JSON object")
    return data


def updated_lock(
    lock: dict[str, list[dict[str, Any]]], schema_set: SchemaSet, records: Iterable[str]
) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """The lock with today's schema appended where it changed, and what changed."""
    new_lock = {name: list(versions) for name, versions in lock.items()}
    changed = []
    for record in records:
        current = schema_set.expanded(record)
        versions = new_lock.setdefault(record, [])
        if not versions or versions[-1] != current:
            versions.append(current)
            changed.append(record)
    return new_lock, changed


def write_lock(lock: dict[str, list[dict[str, Any]]], path: Path = LOCK_FILE) -> None:
    path.write_text(json.dumps(lock, indent=1, sort_keys=True) + "\n")
