"""Schema evolution, judged by the real registry's compatibility endpoint."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas import registry
from schemas.catalogue import all_records
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration


def test_todays_schemas_may_follow_every_published_version(contract_env: ContractEnv) -> None:
    lock = registry.read_lock()
    policy = contract_env.settings.registry.compatibility
    refused = [
        record
        for record in all_records()
        if lock.get(record)
        and not registry.check_versions(
            contract_env.client, lock[record], contract_env.schema_set.expanded(record), policy
        )
    ]
    assert refused == []


def _cart_item_added(env: ContractEnv) -> dict[str, Any]:
    return copy.deepcopy(env.schema_set.expanded("omni.cart.CartItemAdded"))


def test_registry_refuses_a_field_added_without_default(contract_env: ContractEnv) -> None:
    old = _cart_item_added(contract_env)
    new = copy.deepcopy(old)
    new["fields"].append({"name": "gift_wrap", "type": "boolean"})
    assert not registry.check_versions(contract_env.client, [old], new, "BACKWARD")
    new["fields"][-1]["default"] = False
    assert registry.check_versions(contract_env.client, [old], new, "FULL_TRANSITIVE")


def test_registry_refuses_a_removed_required_field_under_our_policy(
    contract_env: ContractEnv,
) -> None:
    old = _cart_item_added(contract_env)
    new = copy.deepcopy(old)
    new["fields"] = [f for f in new["fields"] if f["name"] != "sku"]
    policy = contract_env.settings.registry.compatibility
    assert not registry.check_versions(contract_env.client, [old], new, policy)
    # Plain BACKWARD would let it through: that is why the policy is FULL_TRANSITIVE.
    assert registry.check_versions(contract_env.client, [old], new, "BACKWARD")


def test_registered_subjects_pass_the_registry_check(contract_env: ContractEnv) -> None:
    problems = registry.check_against_registry(
        contract_env.client, contract_env.schema_set, contract_env.prefix
    )
    assert problems == []
