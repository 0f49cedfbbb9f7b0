"""Two workers: any worker answers for any identifier, even when the identifier's link and
the customer's context live on different workers (the second routed hop)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner

from tests.integration.streams.test_customers import event, eventually, get, ids, make_sender
from tests.integration.streams.workers import WorkerProcess, worker_env
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration


def test_any_worker_answers_for_any_identifier(
    contract_env: ContractEnv,
    tmp_path: Path,
) -> None:
    app_id = f"omni-test-{uuid.uuid4().hex[:8]}"
    workers = [
        WorkerProcess(
            worker_env(contract_env.settings, app_id, tmp_path / "data"),
            f"w{n}",
            tmp_path / f"w{n}.log",
        )
        for n in (1, 2)
    ]
    try:
        for worker in workers:
            worker.start()
        partition = DefaultPartitioner()
        every = list(range(contract_env.settings.topics.partitions_override or 6))

        def crosses(anon: str, customer: str) -> bool:
            return bool(
                partition(anon.encode(), every, every) != partition(customer.encode(), every, every)
            )

        people: dict[str, str] = {}
        # Random ids land on one partition now and then; add people until a pair crosses.
        while len(people) < 6 or not any(crosses(a, c) for a, c in people.items()):
            people[f"anon-{uuid.uuid4().hex[:10]}"] = f"CUST-{uuid.uuid4().hex[:10]}"
        crossing = [anon for anon, customer in people.items() if crosses(anon, customer)]
        assert crossing, "no link and context on different partitions: the test would prove less"
        make_sender(contract_env)(
            *(
                (
                    "omni.customer.CustomerIdentified",
                    event(
                        "omni.customer.CustomerIdentified",
                        100 + n,
                        ids(customer_id=customer, anonymous_id=anon),
                        customer_id=customer,
                        traits={},
                    ),
                )
                for n, (anon, customer) in enumerate(people.items())
            ),
            times=1,
        )

        def wrong() -> dict[tuple[str, str], object]:
            return {
                (worker.name, identifier): ctx and ctx["customer_id"]
                for worker in workers
                for anon, customer in people.items()
                for identifier in (anon, customer)
                if (ctx := get(worker, f"/v1/customers/{identifier}/context")) is None
                or ctx["customer_id"] != customer
            }

        eventually(lambda: not wrong() or None, timeout_s=90)
        logs = "\n".join(w.log.read_text(errors="replace") for w in workers)
        assert "Traceback" not in logs
    finally:
        for worker in workers:
            worker.stop()
