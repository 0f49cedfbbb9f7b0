"""Which errors the bulk restore waits out while sizing a changelog created a moment ago."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from streams.restore import _transient


@pytest.mark.parametrize("code", [KafkaError._UNKNOWN_PARTITION, KafkaError._UNKNOWN_TOPIC])
def test_a_partition_librdkafka_does_not_know_yet_is_waited_for(code: int) -> None:
    # librdkafka's metadata did not list a new changelog's partition yet (row 3, 3 brokers)
    assert _transient(KafkaError(code))


@pytest.mark.parametrize("code", [KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError._INVALID_ARG])
def test_a_real_error_is_not_retried(code: int) -> None:
    assert not _transient(KafkaError(code))
