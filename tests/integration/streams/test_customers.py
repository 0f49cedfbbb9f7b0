"""Identity, carts and the single customer view against the real broker and a real worker.

The journey crosses partitions on purpose: the anonymous session is keyed by
the anonymous id, the login by the customer id, so the resolver must claim the
anonymous id through ``omni.identity.links`` and stage 2 must ship the cart.
Every event is sent twice: the views must read as if it was sent once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from schemas.catalogue import CART_VIEW, CUSTOMER_CONTEXT_VIEW, PRICES, topic_for_record
from schemas.codec import FastDecoder, FastEncoder
from schemas.samples import sample_event
from streams.identity.rules import merge_id_for
from tests.integration.streams.workers import WorkerProcess, worker_env
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration
ID_FIELDS = (
    "customer_id",
    "anonymous_id",
    "device_id",
    "email_sha256",
    "phone_sha256",
    "loyalty_id",
)


def ids(**given: str) -> dict[str, str | None]:
    return {name: given.get(name) for name in ID_FIELDS}


def event(
    record: str, seed: int, identifiers: dict[str, str | None], **fields: Any
) -> dict[str, Any]:
    value = sample_event(record, seed)
    value["envelope"].update(identifiers=identifiers, sequence=None, event_id=str(uuid.uuid4()))
    value.update(fields)
    return value


@pytest.fixture(scope="module")
def worker(
    contract_env: ContractEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    data = tmp_path_factory.mktemp("customers")
    env = worker_env(contract_env.settings, f"omni-test-{uuid.uuid4().hex[:8]}", data)
    process = WorkerProcess(env, "w1", data / "w1.log")
    process.start()
    yield process
    process.stop()
    assert "Traceback" not in process.log.read_text(errors="replace"), process.tail()


@pytest.fixture(scope="module")
def send(contract_env: ContractEnv) -> Callable[..., None]:
    return make_sender(contract_env)


def make_sender(contract_env: ContractEnv) -> Callable[..., None]:
    """Produce events (each twice, like a retrying producer), keyed by the catalogue's rule."""
    encoder = FastEncoder(contract_env.client, contract_env.schema_set)
    producer = contract_env.producer()

    def produce(*events: tuple[str, dict[str, Any]], times: int = 2) -> None:
        for record, value in events:
            topic = topic_for_record(record)
            name = topic.physical(contract_env.prefix)
            assert topic.key is not None
            data = encoder.encode(name, record, value)
            for _ in range(times):
                producer.produce(name, data, key=topic.key.key_of(value))
        assert producer.flush(30) == 0

    return produce


def eventually(check: Callable[[], Any], timeout_s: float = 60) -> Any:
    """Poll ``check`` until it returns something truthy; fail with its last answer."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"condition not met in {timeout_s}s; last: {last!r}")


def get(worker: WorkerProcess, path: str) -> dict[str, Any] | None:
    answer = httpx.get(f"{worker.url}{path}", timeout=10)
    if answer.status_code in (404, 503):
        return None
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def view_latest(env: ContractEnv, topic: str, keys: set[str]) -> dict[str, dict[str, Any] | None]:
    """The last value (None: tombstone) of each key of a view topic, read from the start."""
    decoder = FastDecoder(env.client, env.schema_set)
    consumer = env.consumer(topic)
    latest: dict[str, dict[str, Any] | None] = {}
    deadline = time.monotonic() + 20
    idle = 0
    while time.monotonic() < deadline and idle < 4:
        message = consumer.poll(0.5)
        if message is None:
            idle += 1 if keys <= set(latest) else 0
            continue
        assert message.error() is None
        value = message.value()
        latest[message.key().decode()] = None if value is None else decoder.decode(value).value
    consumer.close()
    return latest


def quantities(cart: dict[str, Any] | None) -> dict[str, int] | None:
    return None if cart is None else {line["sku"]: line["quantity"] for line in cart["items"]}


def test_cart_and_context_follow_the_customer_across_devices(
    contract_env: ContractEnv, worker: WorkerProcess, send: Callable[..., None]
) -> None:
    anon, customer, device = (f"{p}-{uuid.uuid4().hex[:10]}" for p in ("anon", "CUST", "dev"))
    phone = uuid.uuid4().hex * 2
    sku = f"SKU-{uuid.uuid4().hex[:6]}"
    send(
        (
            "omni.cart.CartItemAdded",
            event(
                "omni.cart.CartItemAdded",
                1,
                ids(anonymous_id=anon),
                sku=sku,
                quantity=2,
                unit_price_minor=1999,
                currency="EUR",
            ),
        )
    )
    assert eventually(lambda: quantities(get(worker, f"/v1/carts/{anon}"))) == {sku: 2}

    login = event(
        "omni.customer.CustomerIdentified",
        2,
        ids(customer_id=customer, anonymous_id=anon, device_id=device),
        customer_id=customer,
        traits={"first_name": "Ada"},
    )
    send(("omni.customer.CustomerIdentified", login))
    cart = eventually(
        lambda: (c := get(worker, f"/v1/carts/{customer}")) and c["cart_key"] == customer and c
    )
    assert quantities(cart) == {sku: 2}
    assert cart["customer_id"] == customer
    assert (
        get(worker, f"/v1/carts/{anon}") == cart
    )  # the anonymous id now finds the customer's cart

    send(
        (
            "omni.customer.ProductViewed",
            event("omni.customer.ProductViewed", 3, ids(customer_id=customer)),
        ),
        (
            "omni.customer.ConsentChanged",
            event(
                "omni.customer.ConsentChanged",
                4,
                ids(customer_id=customer),
                consent_channel="email",
                purpose="marketing",
                granted=True,
            ),
        ),
        (
            "omni.customer.IdentifiersLinked",
            event(
                "omni.customer.IdentifiersLinked",
                5,
                ids(customer_id=customer),
                reason="unknown",
                linked=ids(phone_sha256=phone),
            ),
        ),
    )

    def full_context() -> dict[str, Any] | None:
        ctx = get(worker, f"/v1/customers/{phone}/context")
        return (
            ctx
            if ctx and ctx["consents"] and phone in ctx["identifiers"]["phone_sha256s"]
            else None
        )

    ctx = eventually(full_context)
    assert ctx["customer_id"] == customer
    assert ctx["merged_into"] is None
    assert (
        get(worker, f"/v1/customers/{anon}/context")
        == ctx
        == get(worker, f"/v1/customers/{customer}/context")
    )
    assert anon in ctx["identifiers"]["anonymous_ids"]
    assert device in ctx["identifiers"]["device_ids"]
    assert ctx["traits"] == {"first_name": "Ada"}
    assert [(c["channel"], c["purpose"], c["granted"]) for c in ctx["consents"]] == [
        ("email", "marketing", True)
    ]
    types = sorted(i["type"] for i in ctx["recent_interactions"])
    assert types == [
        "CartItemAdded",
        "CustomerIdentified",
        "ProductViewed",
    ]  # once each, sent twice
    assert ctx["cart"]["item_count"] == 2
    assert ctx["journey_stage"] == "consideration"

    carts = view_latest(contract_env, CART_VIEW.physical(contract_env.prefix), {anon, customer})
    assert carts[anon] is None  # tombstoned by the merge
    assert quantities(carts[customer]) == {sku: 2}
    contexts = view_latest(
        contract_env, CUSTOMER_CONTEXT_VIEW.physical(contract_env.prefix), {anon, customer}
    )
    assert contexts[anon] is not None
    assert contexts[anon]["merged_into"] == customer
    assert contexts[customer] is not None
    assert contexts[customer]["customer_id"] == customer


def test_two_known_customers_merge_and_unmerge_with_audit(
    worker: WorkerProcess, send: Callable[..., None]
) -> None:
    first, second = sorted(f"CUST-{uuid.uuid4().hex[:10]}" for _ in range(2))
    send(
        (
            "omni.cart.CartItemAdded",
            event(
                "omni.cart.CartItemAdded",
                11,
                ids(customer_id=first),
                sku="SKU-A",
                quantity=1,
                unit_price_minor=500,
                currency="EUR",
            ),
        ),
        (
            "omni.cart.CartItemAdded",
            event(
                "omni.cart.CartItemAdded",
                12,
                ids(customer_id=second),
                sku="SKU-B",
                quantity=3,
                unit_price_minor=700,
                currency="EUR",
            ),
        ),
    )
    eventually(lambda: get(worker, f"/v1/carts/{first}") and get(worker, f"/v1/carts/{second}"))
    link = event(
        "omni.customer.IdentifiersLinked",
        13,
        ids(customer_id=second),
        reason="unknown",
        linked=ids(customer_id=first),
    )
    send(("omni.customer.IdentifiersLinked", link))
    # The smaller customer id survives; the other's cart joins it. The identity
    # points at the survivor a moment before the loser's cart has arrived there.
    both = {"SKU-A": 1, "SKU-B": 3}
    merged = eventually(
        lambda: (
            (c := get(worker, f"/v1/carts/{second}"))
            and c["cart_key"] == first
            and quantities(c) == both
            and c
        )
    )
    assert quantities(merged) == both
    merge_id = merge_id_for(link["envelope"]["event_id"], second)
    survivor = eventually(lambda: get(worker, f"/v1/identities/{first}"))
    assert survivor["merges"][merge_id]["loser_id"] == second

    unmerge = event(
        "omni.customer.ProfilesUnmergeRequested",
        14,
        ids(customer_id=first),
        merge_id=merge_id,
        requested_by="agent-7",
        reason="shared family account",
    )
    send(("omni.customer.ProfilesUnmergeRequested", unmerge))
    restored = eventually(
        lambda: (
            (c := get(worker, f"/v1/customers/{second}/context"))
            and c["customer_id"] == second
            and c
        )
    )
    assert restored["merged_into"] is None
    audit = get(worker, f"/v1/identities/{first}")
    assert audit is not None
    undo = audit["merges"][merge_id]["undone"]
    assert (undo["requested_by"], undo["reason"]) == ("agent-7", "shared family account")
    assert eventually(
        lambda: (e := get(worker, f"/v1/identities/{second}")) and e["canonical_id"] == second
    )
    assert get(worker, f"/v1/customers/{first}/context")["customer_id"] == first
    # The merge is split: each profile gets its own cart and history back.
    assert eventually(lambda: quantities(get(worker, f"/v1/carts/{second}"))) == {"SKU-B": 3}
    assert eventually(lambda: quantities(get(worker, f"/v1/carts/{first}")) == {"SKU-A": 1})
    theirs = eventually(
        lambda: (
            (c := get(worker, f"/v1/customers/{second}/context")) and c["recent_interactions"] and c
        )
    )
    assert [i["type"] for i in theirs["recent_interactions"]] == ["CartItemAdded"]
    ours = get(worker, f"/v1/customers/{first}/context")
    assert ours is not None
    adds = [i for i in ours["recent_interactions"] if i["type"] == "CartItemAdded"]
    assert len(adds) == 1  # its own add; the loser's went back with the loser


def test_api_answers_404_and_400_with_messages(worker: WorkerProcess) -> None:
    for path in (
        f"/v1/customers/nobody-{uuid.uuid4().hex[:6]}/context",
        f"/v1/carts/nobody-{uuid.uuid4().hex[:6]}",
    ):
        missing = httpx.get(f"{worker.url}{path}", timeout=10)
        assert missing.status_code == 404
        assert "no customer known" in missing.json()["error"]
    bad = httpx.get(f"{worker.url}/v1/customers/%20bad/context", timeout=10)
    assert bad.status_code == 400
    assert "malformed" in bad.json()["error"]


def test_bad_records_go_to_the_dead_letter_topic(
    contract_env: ContractEnv, worker: WorkerProcess
) -> None:
    from schemas.catalogue import CONSENT_EVENTS, DEAD_LETTERS

    key = f"anon-{uuid.uuid4().hex[:10]}"
    topic = CONSENT_EVENTS.physical(contract_env.prefix)
    encoder = FastEncoder(contract_env.client, contract_env.schema_set)
    nobody = event("omni.customer.ConsentChanged", 21, ids(), consent_channel="sms")
    garbage = b"\x00\x00\x00\x00\x01garbage"
    producer = contract_env.producer()
    for value in (garbage, encoder.encode(topic, "omni.customer.ConsentChanged", nobody)):
        producer.produce(topic, value, key=key)
    assert producer.flush(30) == 0
    consumer = contract_env.consumer(DEAD_LETTERS.physical(contract_env.prefix))
    letters: list[Any] = []
    deadline = time.monotonic() + 30
    while len(letters) < 2 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None and message.key() == key.encode():
            letters.append(message)
    consumer.close()
    reasons = sorted(dict(m.headers())["omni.error.reason"].decode() for m in letters)
    assert len(reasons) == 2
    assert "invalid:no_identifiers" in reasons
    assert garbage in [m.value() for m in letters]


def test_order_summaries_reach_the_context_through_the_hook(
    contract_env: ContractEnv, worker: WorkerProcess, send: Callable[..., None]
) -> None:
    """The hook for the orders processor: a ProfileCommand keyed by the customer id."""
    import orjson

    from schemas.catalogue import CUSTOMER_BY_CANONICAL

    customer = f"CUST-{uuid.uuid4().hex[:10]}"
    send(
        (
            "omni.customer.ProductViewed",
            event("omni.customer.ProductViewed", 31, ids(customer_id=customer)),
        )
    )
    eventually(lambda: get(worker, f"/v1/customers/{customer}/context"))
    summary = {
        "order_id": f"ORD-{uuid.uuid4().hex[:6]}",
        "status": "placed",
        "fulfilment": "ship",
        "total_minor": 4200,
        "currency": "EUR",
        "placed_at": 1_700_000_000_000,
        "location_id": None,
    }
    command = {
        "command": "order_summary",
        "canonical_id": customer,
        "canonical_kind": "customer",
        "other_id": "",
        "other_kind": "",
        "merge_id": "",
        "keys": [],
        "state": orjson.dumps({"summary": summary, "net_minor": 4200}).decode(),
        "command_id": f"order:{summary['order_id']}:1",
        "at": 1_700_000_000_000,
    }
    topic = CUSTOMER_BY_CANONICAL.physical(contract_env.prefix)
    encoder = FastEncoder(contract_env.client, contract_env.schema_set)
    producer = contract_env.producer()
    for _ in range(2):  # a redelivered summary counts once
        producer.produce(
            topic, encoder.encode(topic, "omni.internal.ProfileCommand", command), key=customer
        )
    assert producer.flush(30) == 0
    ctx = eventually(
        lambda: (c := get(worker, f"/v1/customers/{customer}/context")) and c["open_orders"] and c
    )
    assert [o["order_id"] for o in ctx["open_orders"]] == [summary["order_id"]]
    assert ctx["order_count"] == 1
    assert ctx["journey_stage"] == "purchase"


def test_every_event_twice_reads_like_every_event_once(
    worker: WorkerProcess, send: Callable[..., None]
) -> None:
    """Two shoppers do the same; one's events are all delivered twice. Their views match."""
    import orjson

    sku = f"SKU-{uuid.uuid4().hex[:6]}"
    seen: list[bytes] = []
    for times in (1, 2):
        anon, customer = f"anon-{uuid.uuid4().hex[:10]}", f"CUST-{uuid.uuid4().hex[:10]}"
        send(
            (
                "omni.cart.CartItemAdded",
                event(
                    "omni.cart.CartItemAdded",
                    41,
                    ids(anonymous_id=anon),
                    sku=sku,
                    quantity=1,
                    unit_price_minor=900,
                    currency="EUR",
                ),
            ),
            times=times,
        )
        eventually(lambda a=anon: get(worker, f"/v1/carts/{a}"))
        send(
            (
                "omni.customer.CustomerIdentified",
                event(
                    "omni.customer.CustomerIdentified",
                    42,
                    ids(customer_id=customer, anonymous_id=anon),
                    customer_id=customer,
                    traits={},
                ),
            ),
            (
                "omni.cart.CartItemAdded",
                event(
                    "omni.cart.CartItemAdded",
                    43,
                    ids(customer_id=customer),
                    sku=sku,
                    quantity=2,
                    unit_price_minor=950,
                    currency="EUR",
                ),
            ),
            (
                "omni.customer.ConsentChanged",
                event(
                    "omni.customer.ConsentChanged",
                    44,
                    ids(customer_id=customer),
                    consent_channel="sms",
                    purpose="marketing",
                    granted=False,
                ),
            ),
            times=times,
        )

        def settled(c: str = customer) -> dict[str, Any] | None:
            ctx = get(worker, f"/v1/customers/{c}/context")
            return (
                ctx
                if ctx and ctx["consents"] and (ctx["cart"] or {}).get("item_count") == 3
                else None
            )

        both = {"context": eventually(settled), "cart": get(worker, f"/v1/carts/{anon}")}
        text = orjson.dumps(both, option=orjson.OPT_SORT_KEYS).decode()
        seen.append(text.replace(anon, "A").replace(customer, "C").encode())
    assert seen[0] == seen[1]


def test_cart_lines_are_priced_from_the_price_table(
    contract_env: ContractEnv, worker: WorkerProcess, send: Callable[..., None]
) -> None:
    """A price on the prices topic wins over the channel's; unpriced SKUs keep theirs."""
    anon = f"anon-{uuid.uuid4().hex[:10]}"
    priced, unpriced = (f"SKU-{uuid.uuid4().hex[:6]}" for _ in range(2))
    price = event("omni.pricing.PriceUpdated", 11, ids(), sku=priced, price_minor=4321)
    price["valid_from"] = None
    send(("omni.pricing.PriceUpdated", price), times=1)
    prices_topic = PRICES.physical(contract_env.prefix)

    def price_known() -> bool:
        # The price reader tails the prices topic; the join is by event time, so a
        # cart line added before the reader saw the price keeps the channel's price.
        metrics = httpx.get(f"{worker.url}/metrics", timeout=10).text
        return any(
            line.startswith("omni_events_processed_total")
            and f'topic="{prices_topic}"' in line
            and 'outcome="apply"' in line
            for line in metrics.splitlines()
        )

    eventually(price_known)
    for sku in (priced, unpriced):
        added = event(
            "omni.cart.CartItemAdded",
            12,
            ids(anonymous_id=anon),
            sku=sku,
            quantity=1,
            unit_price_minor=999,
            currency="EUR",
        )
        send(("omni.cart.CartItemAdded", added))

    def lines() -> dict[str, int | None] | None:
        cart = get(worker, f"/v1/carts/{anon}")
        if cart is None or len(cart["items"]) < 2:
            return None
        return {line["sku"]: line["unit_price_minor"] for line in cart["items"]}

    assert eventually(lines) == {priced: 4321, unpriced: 999}


def test_erasure_forgets_the_context_and_tombstones_the_cart(
    contract_env: ContractEnv, worker: WorkerProcess, send: Callable[..., None]
) -> None:
    customer = f"CUST-{uuid.uuid4().hex[:10]}"
    sku = f"SKU-{uuid.uuid4().hex[:6]}"
    added = event(
        "omni.cart.CartItemAdded", 21, ids(customer_id=customer), sku=sku, quantity=3,
        unit_price_minor=100, currency="EUR",
    )  # fmt: skip
    send(("omni.cart.CartItemAdded", added))
    assert eventually(lambda: quantities(get(worker, f"/v1/carts/{customer}"))) == {sku: 3}

    erase = event("omni.customer.ErasureRequested", 22, ids(customer_id=customer))
    send(("omni.customer.ErasureRequested", erase))
    ctx = eventually(
        lambda: (c := get(worker, f"/v1/customers/{customer}/context")) and c["erased"] and c
    )
    assert ctx["recent_interactions"] == []
    assert ctx["cart"] is None
    eventually(lambda: get(worker, f"/v1/carts/{customer}") is None)
    carts = view_latest(contract_env, CART_VIEW.physical(contract_env.prefix), {customer})
    assert carts[customer] is None  # tombstone on the cart view

    again = event(
        "omni.cart.CartItemAdded", 23, ids(customer_id=customer), sku=sku, quantity=1,
        unit_price_minor=100, currency="EUR",
    )  # fmt: skip
    send(("omni.cart.CartItemAdded", again))
    time.sleep(3)
    assert get(worker, f"/v1/carts/{customer}") is None  # an erased profile collects nothing


def keys_on(env: ContractEnv, topic: str) -> list[str]:
    """Every record key on ``topic`` so far, read from the start."""
    consumer = env.consumer(topic)
    keys: list[str] = []
    idle = 0
    while idle < 4:
        message = consumer.poll(0.5)
        if message is None:
            idle += 1
            continue
        assert message.error() is None
        keys.append(message.key().decode())
    consumer.close()
    return keys


def test_stage_1_hands_its_own_partition_to_stage_2_and_sends_the_rest(
    contract_env: ContractEnv, worker: WorkerProcess, send: Callable[..., None]
) -> None:
    """An event keyed by its own canonical id is applied in process; one of a merged id crosses.

    ``here`` only ever names itself, so its records stay on their partition
    and never appear on ``omni.customer.by-canonical``. The visitor ``anon``
    logs in as ``there`` (on another partition): its next event resolves to
    ``there`` and must still reach that profile, through the topic.
    """
    from confluent_kafka import murmur2

    from schemas.catalogue import CUSTOMER_BY_CANONICAL

    override = contract_env.settings.topics.partitions_override
    partitions = override or CUSTOMER_BY_CANONICAL.partitions
    here, there = (f"CUST-{uuid.uuid4().hex[:10]}" for _ in range(2))
    anon = next(
        a
        for a in (f"anon-{uuid.uuid4().hex[:10]}" for _ in range(100))
        if murmur2(a.encode(), partitions) != murmur2(there.encode(), partitions)
    )
    login = event("omni.customer.CustomerIdentified", 43, ids(anonymous_id=anon), customer_id=there)
    send(
        (
            "omni.customer.ProductViewed",
            event("omni.customer.ProductViewed", 41, ids(customer_id=here)),
        ),
        ("omni.customer.CustomerIdentified", login),
    )
    assert (
        len(eventually(lambda: get(worker, f"/v1/customers/{here}/context"))["recent_interactions"])
        == 1
    )
    merged = eventually(
        lambda: (
            (c := get(worker, f"/v1/customers/{anon}/context")) and c["customer_id"] == there and c
        )
    )
    before = len(merged["recent_interactions"])
    send(
        (
            "omni.customer.ProductViewed",
            event("omni.customer.ProductViewed", 44, ids(anonymous_id=anon)),
        )
    )
    ctx = eventually(
        lambda: (
            (c := get(worker, f"/v1/customers/{there}/context"))
            and len(c["recent_interactions"]) > before
            and c
        )
    )
    assert ctx["customer_id"] == there
    crossed = keys_on(contract_env, CUSTOMER_BY_CANONICAL.physical(contract_env.prefix))
    assert there in crossed
    assert here not in crossed
