"""Readiness questions asked of the brokers themselves, never answered by sleeping.

A listening port proves little: a KRaft broker accepts connections before it
has caught up with the metadata log and been unfenced. A node is ready when
it serves metadata that lists itself; a cluster is ready when each node
lists all of them and the group coordinator answers.
"""

from __future__ import annotations

import logging
from concurrent.futures import TimeoutError as FuturesTimeout

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from deploy.local.kafka_config import NodeSpec
from deploy.local.proc import port_answers

PROBE_GROUP = "omni-readiness-probe"

# librdkafka logs every refused connection while a broker boots; keep those
# out of the terminal but available to anyone who configures logging.
_admin_log = logging.getLogger(f"{__name__}.admin")
_admin_log.addHandler(logging.NullHandler())


def serves_metadata(spec: NodeSpec, expect_brokers: int) -> bool:
    """Whether the node answers metadata that lists itself and ``expect_brokers`` brokers."""
    if not port_answers(spec.broker_port):
        return False
    admin = AdminClient({"bootstrap.servers": spec.address}, logger=_admin_log)
    try:
        brokers = admin.list_topics(timeout=2).brokers
    except KafkaException:
        return False
    return spec.node_id in brokers and len(brokers) >= expect_brokers


def groups_ready(bootstrap: str) -> bool:
    """Whether the group coordinator answers for a probe group.

    On a fresh cluster ``__consumer_offsets`` is only created by the first
    coordinator lookup, and consumers that race its creation can be left
    with NOT_COORDINATOR errors; asking once here means clients never do.
    """
    admin = AdminClient({"bootstrap.servers": bootstrap}, logger=_admin_log)
    future = admin.describe_consumer_groups([PROBE_GROUP])[PROBE_GROUP]
    try:
        future.result(timeout=2)
    except (KafkaException, FuturesTimeout):
        # Not yet: a busy cluster can take longer than one probe to answer. The caller
        # asks again until its own deadline; a timeout here must not end the wait.
        return False
    return True
