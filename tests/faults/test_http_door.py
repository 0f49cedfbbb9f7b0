"""Row 5c (HTTP door): bad requests among good ones at the collector and the service desk.

The doors are where a channel's mistakes arrive first, so each kind of bad
request the issue names (Segment's 32 KB per event and 500 KB per batch, bad
JSON, missing fields, wrong types, a missing or unknown write key, a bad HMAC
signature) is sent ``PER_KIND`` times at random places among good requests, while a
worker processes what the good ones publish. Every bad request must get its
4xx with a JSON message, and nothing of it may reach Kafka but its body on the
dead-letter topic (400s only); every good one must get 200, each of its events
must be on its topic once, and the worker's views must equal the harness's
replay of the input (collector) or its case query must know the case (desk).
Report for K bad of N requests: HTTP 4xx = K, processed = N - K.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from schemas.catalogue import SERVICE_CASES
from tests.faults.conftest import FaultConfig
from tests.faults.door_requests import (
    BAD,
    COLLECTOR,
    DESK,
    Builder,
    DoorRequest,
    Limits,
    interleave,
)
from tests.faults.landed import event_ids
from tests.faults.pump import Deliveries, Pump, Sendable
from tests.faults.report import Row
from tests.faults.scenario import INPUTS, FaultRun
from tests.faults.test_bad_input import check_dead_letters
from tests.faults.workload import Workload
from tests.integration.connectors.connector_process import ConnectorProcess
from tests.integration.support import ContractEnv

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
GOOD_COLLECTOR = 120
GOOD_DESK = 12
CUSTOMERS = 40
PER_KIND = 3
CASES_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Answer:
    """A request and what the door answered: its status and JSON body (None if not JSON)."""

    request: DoorRequest
    status: int
    body: Any


@dataclass
class Answered:
    """The doors as a producer for :meth:`FaultRun.verify`: what a ``Pump`` reports.

    ``verify`` reads ``sent``, ``deliveries`` and ``join_checked`` of each
    producer and nothing else; a 200 is the collector's acknowledgement (it
    answers only once Kafka has every event), so the ids of answered events
    stand where a pump's delivery reports would.
    """

    sent: int
    deliveries: Deliveries

    def join_checked(self) -> None:
        """Every request was answered before this was built: nothing to wait for."""


def start_doors(run: FaultRun, doors: dict[str, ConnectorProcess]) -> None:
    """Both doors and one worker, started side by side (their imports overlap)."""
    for door in doors.values():
        door.start()
    run.fleet.start("w1")
    for door in doors.values():
        door.wait_ready()
    run.note("worker w1, collector and service desk ready")


def requests_for(run: FaultRun) -> tuple[list[DoorRequest], list[DoorRequest]]:
    """(all requests in sending order, the bad ones); the same seed gives the same ones."""
    settings = run.env.settings.connectors
    limits = Limits(settings.collector.max_event_bytes, settings.collector.max_batch_bytes)
    builder = Builder(run.row.seed + 8, CUSTOMERS, limits, settings.service_desk.source)
    goods = [builder.good_collector() for _ in range(GOOD_COLLECTOR)]
    goods += [builder.good_desk() for _ in range(GOOD_DESK)]
    bads = [builder.bad(kind, n) for kind in BAD for n in range(PER_KIND)]
    ordered = interleave(random.Random(run.row.seed + 9), goods, bads)
    run.note(f"{len(bads)} bad requests ({', '.join(BAD)}) among {len(goods)} good ones")
    return ordered, bads


def send_all(doors: dict[str, ConnectorProcess], requests: Sequence[DoorRequest]) -> list[Answer]:
    """One at a time, in order, so each customer's events keep their order."""
    answers = []
    with httpx.Client(timeout=30) as client:
        for request in requests:
            url = doors[request.door].url + request.path
            response = client.post(url, content=request.body, headers=request.headers)
            json = response.headers.get("content-type", "").startswith("application/json")
            answers.append(Answer(request, response.status_code, response.json() if json else None))
    return answers


def has_message(body: Any) -> bool:
    """``{"error": code, "detail": message}``, both non-empty text."""
    if not isinstance(body, dict):
        return False
    return all(isinstance(body.get(k), str) and body[k] for k in ("error", "detail"))


def check_answers(run: FaultRun, answers: Sequence[Answer]) -> Counter[str]:
    """Each bad request its kind's 4xx with a message, each good one 200; 4xx counted by kind."""
    refused: Counter[str] = Counter()
    for answer in answers:
        request = answer.request
        wanted = BAD[request.kind].status if request.bad else 200
        if answer.status != wanted:
            run.row.problems.append(
                f"{request.kind} {request.door} {request.path}: {answer.status}, not {wanted}:"
                f" {answer.body}"
            )
        if not request.bad:
            continue
        if 400 <= answer.status < 500:
            refused[f"{request.kind} {answer.status}"] += 1
        if not has_message(answer.body):
            run.row.problems.append(f"{request.kind}: {answer.status} without a JSON message")
    run.note("4xx by kind: " + ", ".join(f"{k} x{n}" for k, n in sorted(refused.items())))
    return refused


def landed(run: FaultRun, answers: Sequence[Answer]) -> list[DoorRequest]:
    """Good requests whose every event is on its topic exactly once; nothing of a bad one is."""
    counts = event_ids(run, [*INPUTS, SERVICE_CASES])
    on_cases = counts.pop(SERVICE_CASES.name)
    on_inputs = sum(counts.values(), Counter[str]())
    found = on_inputs + on_cases
    complete = []
    for answer in answers:
        request = answer.request
        on = on_cases if request.door == DESK else on_inputs
        if request.bad and any(found[i] for i in request.event_ids):
            run.row.problems.append(f"an event of a refused {request.kind} request is in Kafka")
        elif not request.bad and all(on[i] == 1 for i in request.event_ids):
            complete.append(request)
        elif not request.bad:
            times = [on[i] for i in request.event_ids]
            run.row.problems.append(f"{request.door} {request.path}: events found {times} times")
    run.note(f"{len(complete)} good requests with every event once on its topic")
    return complete


def cases_known(run: FaultRun, requests: Sequence[DoorRequest]) -> set[str]:
    """Case ids the worker's case query knows, with the one message each good request sent."""
    url = run.fleet.worker("w1").url
    wanted = {r.case_id for r in requests if r.case_id is not None}
    known: set[str] = set()
    deadline = time.monotonic() + CASES_TIMEOUT_S
    while known != wanted and time.monotonic() < deadline:
        for case_id in sorted(wanted - known):
            answer = httpx.get(f"{url}/v1/cases/{case_id}", timeout=10)
            if answer.status_code == 200 and answer.json()["messages"] == 1:
                known.add(case_id)
        time.sleep(0.5)
    run.note(f"cases known to the worker: {len(known)} of {len(wanted)}")
    return known


def check_refused_cases(run: FaultRun, bads: Sequence[DoorRequest]) -> None:
    """A case named only by refused requests is unknown to the worker."""
    url = run.fleet.worker("w1").url
    for request in bads:
        if request.case_id is not None:
            status = httpx.get(f"{url}/v1/cases/{request.case_id}", timeout=10).status_code
            if status != 404:
                run.row.problems.append(f"case {request.case_id} of a refused request: {status}")


def verify_views(run: FaultRun, answers: Sequence[Answer], dead_lettered: int) -> None:
    """The harness's verdict on the collector's events: on the input topics, views = replay."""
    ok = [a.request for a in answers if a.status == 200]
    deliveries = Deliveries()
    deliveries.acked = len(ok)
    deliveries.acked_ids = {i for r in ok if r.door == COLLECTOR for i in r.event_ids}
    producer = Answered(len(answers), deliveries)
    workload = Workload(run.row.seed, [], [])  # no buyers: the doors place no order
    run.verify(workload, [cast(Pump, producer)], bad_records=dead_lettered)


def test_bad_http_requests_get_4xx_and_good_ones_are_processed(
    fault_env: ContractEnv,
    fault_config: FaultConfig,
    fault_report: Callable[[Row], None],
    tmp_path: Path,
) -> None:
    row = Row("5c bad input, HTTP door", fault_config.seed)
    fault_report(row)
    run = FaultRun(fault_env, tmp_path, row)
    doors = {
        name: ConnectorProcess(name, fault_env.settings, tmp_path / f"{name}.log")
        for name in (COLLECTOR, DESK)
    }
    try:
        start_doors(run, doors)
        requests, bads = requests_for(run)
        answers = send_all(doors, requests)
        run.note(f"{len(answers)} requests answered")
        refused = check_answers(run, answers)
        if sum(refused.values()) != len(bads):
            row.problems.append(f"{sum(refused.values())} answers 4xx, not the {len(bads)} bad")
        kept = [r for r in bads if BAD[r.kind].dead_lettered]
        verify_views(run, answers, len(kept))
        check_dead_letters(run, [Sendable("", None, r.body, None) for r in kept])
        complete = landed(run, answers)
        known = cases_known(run, [r for r in complete if r.door == DESK])
        check_refused_cases(run, bads)
        processed = sum(1 for r in complete if r.door == COLLECTOR or r.case_id in known)
        if processed != len(requests) - len(bads):
            row.problems.append(f"processed {processed} of {len(requests) - len(bads)} good")
        row.figure = (
            f"{len(bads)} bad of {len(requests)}: HTTP 4xx {sum(refused.values())}, "
            f"processed {processed}"
        )
    finally:
        for name, door in doors.items():
            if door.stop() != 0:
                row.problems.append(f"{name} did not stop cleanly:\n{door.tail()}")
        run.close()
    assert run.clean(), "\n".join(row.problems)
