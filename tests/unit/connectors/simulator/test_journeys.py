"""The simulator's plan: a pure function of the seed, and every body is one its connector takes.

Each step is run through its connector's own pure mapping here, so the
records per topic the plan announces are what the connectors really publish.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from connectors.collector.mapping import Origin, map_messages
from connectors.core.events import Outgoing
from connectors.inventory.server import Context, events_of_json
from connectors.pos.mapping import events_for
from connectors.pos.receipts import from_json
from connectors.servicedesk.server import events_of
from connectors.simulator.journeys import plan
from connectors.simulator.messages import COLLECTOR, INVENTORY, POS, Step
from connectors.simulator.send import stamped
from connectors.simulator.world import build
from schemas.catalogue import topic_for_record
from tests.unit.connectors.encodes import encodes

NOW = 1_800_000_000.0
KINDS = {
    "/v1/inventory/snapshots": "count",
    "/v1/inventory/movements": "movement",
    "/v1/inventory/prices": "price",
}


def mapped(step: Step) -> list[Outgoing]:
    """What the step's connector would publish for it (its pure mapping)."""
    body: dict[str, Any] = stamped(step, NOW)
    if step.connector == COLLECTOR:
        origin = Origin("sim-" + step.key, step.key, int(NOW * 1000))
        return map_messages(body["batch"], origin, batch=True)
    if step.connector == POS:
        return events_for(from_json(body, "", "EUR"))
    if step.connector == INVENTORY:
        context = Context(KINDS[step.route], "erp", "EUR", int(NOW * 1000))
        return events_of_json(context, orjson.dumps(body))
    return events_of(body, "service-desk")


def test_the_same_seed_gives_the_same_plan_and_another_seed_shares_no_id() -> None:
    first, again, other = plan(build(7, 25)), plan(build(7, 25)), plan(build(8, 25))
    assert first == again
    ids = {e.value["envelope"]["event_id"] for s in first.steps() for e in mapped(s)}
    other_ids = {e.value["envelope"]["event_id"] for s in other.steps() for e in mapped(s)}
    assert len(ids) == sum(first.expected().values())  # every event id is unique
    assert ids.isdisjoint(other_ids)


def test_every_step_maps_encodes_and_lands_where_the_plan_says() -> None:
    the_plan = plan(build(3, 40))
    seen: Counter[str] = Counter()
    for step in the_plan.steps():
        out = mapped(step)
        for event in out:
            encodes(event)
        landed = Counter(topic_for_record(e.record).name for e in out)
        assert landed == step.expect, step
        seen.update(landed)
    assert seen == the_plan.expected()
    assert set(seen) == {
        "omni.customer.interactions",
        "omni.identity.events",
        "omni.cart.events",
        "omni.order.events",
        "omni.inventory.movements",
        "omni.service.cases",
        "omni.pricing.prices",
    }


def test_journeys_cover_every_channel_and_pickups_are_known_by_customer() -> None:
    the_plan = plan(build(11, 30))
    connectors = Counter(step.connector for step in the_plan.steps())
    assert set(connectors) == {"collector", "pos", "servicedesk", "inventory"}
    pickups = the_plan.pickup_orders()
    assert pickups
    assert all(customer.startswith("C-s11-") for customer in pickups.values())
    assert the_plan.prelude[-1].route == "/v1/inventory/prices"
    assert the_plan.events() == sum(step.events for step in the_plan.steps())
