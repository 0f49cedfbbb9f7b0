"""The simulator through the real connectors: the planned events land, a seed repeats its ids."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest

from connectors.simulator import build, plan, simulate
from schemas.settings import Settings
from tests.integration.connectors.kafka_reader import read_events
from tests.integration.connectors.simulator_support import simulator_settings, source_connectors
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration

SEED, CUSTOMERS = 4242, 6


@pytest.fixture(scope="module")
def sim_settings(
    contract_env: ContractEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    logs = tmp_path_factory.mktemp("sources")
    with source_connectors(contract_env.settings, logs) as connectors:
        yield simulator_settings(contract_env.settings, connectors)


def test_a_seeded_run_lands_the_planned_events_and_a_rerun_repeats_every_id(
    sim_settings: Settings, contract_env: ContractEnv
) -> None:
    the_plan = plan(build(SEED, CUSTOMERS))
    expected = the_plan.expected()
    first = asyncio.run(simulate(sim_settings, CUSTOMERS, 0, 0, SEED, progress=False))
    assert first.errors == []
    assert (first.finished, first.accepted) == (True, the_plan.events())

    paced = asyncio.run(simulate(sim_settings, CUSTOMERS, 200, 0, SEED, progress=False))
    assert paced.finished, paced.errors
    biggest = max(step.events for step in the_plan.steps())
    assert paced.elapsed_s >= (the_plan.events() - biggest) / 200  # never faster than the rate

    topics = [contract_env.prefix + name for name in expected]
    landed = read_events(
        contract_env, lambda _: True, 2 * sum(expected.values()), timeout_s=60, topics=topics
    )
    per_topic = Counter(item.topic for item in landed)
    assert per_topic == Counter({topic: 2 * count for topic, count in expected.items()})
    ids = Counter(item.value["envelope"]["event_id"] for item in landed)
    assert len(ids) == sum(expected.values())
    assert set(ids.values()) == {2}  # the second run sent every event id of the first again
