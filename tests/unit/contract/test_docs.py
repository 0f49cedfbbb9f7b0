"""The AsyncAPI document and the README table must say what the catalogue says."""

from __future__ import annotations

import yaml

from schemas.asyncapi import (
    ASYNCAPI_FILE,
    TABLE_BEGIN,
    TABLE_END,
    build_document,
    render_document,
    topic_table,
)
from schemas.avro import SCHEMAS_DIR, load_schema_set
from schemas.catalogue import ALL_TOPICS
from schemas.settings import PROJECT_ROOT


def test_committed_asyncapi_is_generated_from_the_catalogue() -> None:
    assert ASYNCAPI_FILE.read_text() == render_document(load_schema_set()), "run `make docs`"


def test_asyncapi_has_every_topic_record_and_component() -> None:
    doc = yaml.safe_load(ASYNCAPI_FILE.read_text())
    assert doc["asyncapi"].startswith("3.")
    addresses = {channel["address"] for channel in doc["channels"].values()}
    assert addresses == {t.name for t in ALL_TOPICS}
    by_address = {channel["address"]: key for key, channel in doc["channels"].items()}
    for topic in ALL_TOPICS:
        key = by_address[topic.name]
        channel = doc["channels"][key]
        messages = {ref["$ref"].rsplit("/", 1)[-1] for ref in channel["messages"].values()}
        assert {r.rsplit(".", 1)[-1] for r in topic.records} <= messages
        assert channel["bindings"]["kafka"]["partitions"] == topic.partitions
        actions = {
            (op["x-component"], op["action"])
            for op in doc["operations"].values()
            if op["channel"]["$ref"] == f"#/channels/{key}"
        }
        assert {(p, "send") for p in topic.publishers} <= actions
        assert {(s, "receive") for s in topic.subscribers} <= actions


def test_asyncapi_payloads_point_at_existing_avsc_files() -> None:
    doc = build_document(load_schema_set())
    for message in doc["components"]["messages"].values():
        ref = message["payload"].get("schema", {}).get("$ref")
        if ref:
            assert (SCHEMAS_DIR / ref).is_file(), ref


def test_readme_topic_table_matches_the_catalogue() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    between = readme[readme.index(TABLE_BEGIN) + len(TABLE_BEGIN) : readme.index(TABLE_END)]
    assert between.strip() == topic_table(), "run `make docs`"
