"""``omni topics apply`` against the real broker: creates, aligns, then does nothing."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

from schemas import admin as topic_admin
from schemas.catalogue import ALL_TOPICS, CART_VIEW
from schemas.settings import KafkaSettings, TopicSettings

pytestmark = pytest.mark.integration


def test_apply_twice_is_a_no_op_the_second_time(kafka_bootstrap: str) -> None:
    admin = topic_admin.make_admin(KafkaSettings(bootstrap_servers=kafka_bootstrap))
    settings = TopicSettings(prefix=f"t{uuid.uuid4().hex[:10]}.", partitions_override=1)
    first = topic_admin.apply_topics(admin, settings)
    assert sorted(first.created) == sorted(t.physical(settings.prefix) for t in ALL_TOPICS)
    second = topic_admin.apply_topics(admin, settings)
    assert not second.changed
    assert len(second.unchanged) == len(ALL_TOPICS)


def test_apply_restores_drifted_config_and_grows_partitions(kafka_bootstrap: str) -> None:
    admin = topic_admin.make_admin(KafkaSettings(bootstrap_servers=kafka_bootstrap))
    prefix = f"t{uuid.uuid4().hex[:10]}."
    topic_admin.apply_topics(admin, TopicSettings(prefix=prefix, partitions_override=1))
    name = CART_VIEW.physical(prefix)
    drift = ConfigResource(
        ConfigResource.Type.TOPIC,
        name,
        incremental_configs=[
            ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    for future in admin.incremental_alter_configs([drift]).values():
        future.result(timeout=30)

    grown = TopicSettings(prefix=prefix, partitions_override=2)
    report = topic_admin.apply_topics(admin, grown)
    assert report.altered[name] == ["cleanup.policy"]
    assert report.repartitioned[name] == (1, 2)
    assert topic_admin.existing_topics(admin)[name] == 2
    assert not topic_admin.apply_topics(admin, grown).changed

    shrink = topic_admin.apply_topics(admin, TopicSettings(prefix=prefix, partitions_override=1))
    assert any("not shrunk" in warning for warning in shrink.warnings)


def test_a_topic_missing_from_stale_metadata_is_reconciled_not_an_error(
    kafka_bootstrap: str,
) -> None:
    """Another apply created it, or the metadata read trailed the create: TOPIC_ALREADY_EXISTS."""
    admin = topic_admin.make_admin(KafkaSettings(bootstrap_servers=kafka_bootstrap))
    settings = TopicSettings(prefix=f"t{uuid.uuid4().hex[:10]}.", partitions_override=1)
    topic_admin.apply_topics(admin, settings, [CART_VIEW])
    wanted = {CART_VIEW.physical(settings.prefix): CART_VIEW}
    report = topic_admin.ApplyReport()
    raced = topic_admin._create_missing(admin, settings, wanted, {}, report)  # metadata: none
    assert raced == set(wanted)
    assert report.created == []
    again = topic_admin.apply_topics(admin, settings, [CART_VIEW])
    assert again.unchanged == list(wanted)
