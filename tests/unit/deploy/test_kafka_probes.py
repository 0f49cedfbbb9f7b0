"""A readiness probe that gets no answer in time says "not yet"; it never ends the wait."""

from __future__ import annotations

from deploy.local.kafka_probes import groups_ready
from deploy.local.proc import port_answers


def test_a_group_probe_without_an_answer_is_not_ready_rather_than_an_error() -> None:
    # Nothing listens on port 1: the coordinator lookup cannot finish within the probe's 2 s.
    # (A busy three-broker cluster did the same in CI, and the timeout escaped the wait.)
    assert not port_answers(1)
    assert groups_ready("127.0.0.1:1") is False
