"""Which errors the bulk restore waits out while sizing a changelog created a moment ago."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from streams.restore import _transient


@pytest.mark.parametrize(
    "code",
    [
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        # librdkafka's metadata does not list the new partition yet (row 3, a 3-broker cluster)
        KafkaError._UNKNOWN_PARTITION,
        KafkaError._UNKNOWN_TOPIC,
        KafkaError._TIMED_OUT,
    ],
)
def test_a_changelog_not_yet_known_everywhere_is_waited_for(code: int) -> None:
    assert _transient(KafkaError(code))


@pytest.mark.parametrize("code", [KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError._INVALID_ARG])
def test_a_real_error_is_not_retried(code: int) -> None:
    assert not _transient(KafkaError(code))
