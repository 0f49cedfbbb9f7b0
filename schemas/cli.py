"""``omni topics``, ``omni schemas``, ``omni produce`` and ``omni tail``.

Thin commands over the catalogue, the registry helpers and the codec; they take
the settings object the root command built and turn results into short lines.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer
from confluent_kafka import Consumer, KafkaError, Producer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from schemas import admin as topic_admin
from schemas import registry
from schemas.avro import load_schema_set
from schemas.catalogue import ALL_TOPICS, all_records, resolve_record_name, topic_for_record
from schemas.codec import FastDecoder, FastEncoder
from schemas.compat import check
from schemas.exceptions import CatalogueError, CompatibilityError, ContractError, DecodeError
from schemas.models import model_for, to_avro
from schemas.settings import Settings

console = Console()
topics_app = typer.Typer(help="Create and inspect the catalogue's topics.", no_args_is_help=True)
schemas_app = typer.Typer(help="Register and check the Avro contract.", no_args_is_help=True)


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.obj
    if not isinstance(settings, Settings):
        raise ContractError("settings were not built by the root command")
    return settings


@topics_app.command("apply")
def topics_apply(ctx: typer.Context) -> None:
    """Create missing topics and align configs with the catalogue (idempotent)."""
    settings = _settings(ctx)
    report = topic_admin.apply_topics(topic_admin.make_admin(settings.kafka), settings.topics)
    for name in report.created:
        console.print(f"[green]created[/] {name}")
    for name, keys in report.altered.items():
        console.print(f"[yellow]altered[/] {name}: {', '.join(keys)}")
    for name, (have, want) in report.repartitioned.items():
        console.print(f"[yellow]partitions[/] {name}: {have} -> {want}")
    for warning in report.warnings:
        console.print(f"[red]warning[/] {warning}")
    console.print(
        f"{len(report.created)} created, {len(report.altered)} altered, "
        f"{len(report.unchanged)} unchanged"
    )


@topics_app.command("list")
def topics_list(ctx: typer.Context) -> None:
    """The catalogue, and whether each topic exists on the cluster."""
    settings = _settings(ctx)
    present = topic_admin.existing_topics(topic_admin.make_admin(settings.kafka))
    table = Table("topic", "kind", "key", "partitions", "cleanup", "records", "on cluster")
    for topic in ALL_TOPICS:
        name = topic.physical(settings.topics.prefix)
        table.add_row(
            name,
            topic.kind.value,
            topic.key.doc if topic.key else "original key",
            str(topic_admin.desired_partitions(topic, settings.topics)),
            topic.cleanup_policy,
            str(len(topic.records)),
            f"yes ({present[name]})" if name in present else "[red]no[/]",
        )
    console.print(table)


@schemas_app.command("register")
def schemas_register(ctx: typer.Context) -> None:
    """Register every record under its topic's subject, with the compatibility policy."""
    settings = _settings(ctx)
    client = registry.make_client(settings.registry)
    done = registry.register_all(
        client, load_schema_set(), settings.topics.prefix, settings.registry.compatibility
    )
    console.print(f"registered {len(done)} subjects ({settings.registry.compatibility})")


@schemas_app.command("check")
def schemas_check(
    ctx: typer.Context,
    offline: Annotated[bool, typer.Option(help="only the lock file, no registry")] = False,
) -> None:
    """Check today's schemas against the lock file and, unless offline, the registry."""
    settings = _settings(ctx)
    schema_set = load_schema_set()
    lock = registry.read_lock()
    problems = [
        f"{record}: {problem}"
        for record in all_records()
        for problem in check(
            schema_set.expanded(record), lock.get(record, []), settings.registry.compatibility
        )
    ]
    if not offline:
        client = registry.make_client(settings.registry)
        problems += registry.check_against_registry(client, schema_set, settings.topics.prefix)
    if problems:
        raise CompatibilityError("; ".join(problems))
    console.print(f"{len(all_records())} records compatible ({settings.registry.compatibility})")


@schemas_app.command("lock")
def schemas_lock(ctx: typer.Context) -> None:
    """Append changed schemas to the lock file after checking them (run before release)."""
    settings = _settings(ctx)
    schema_set = load_schema_set()
    lock = registry.read_lock()
    for record in all_records():
        problems = check(
            schema_set.expanded(record), lock.get(record, []), settings.registry.compatibility
        )
        if problems:
            raise CompatibilityError(f"{record}: {'; '.join(problems)}")
    new_lock, changed = registry.updated_lock(lock, schema_set, all_records())
    registry.write_lock(new_lock)
    console.print(
        f"lock updated: {len(changed)} changed" + (f" ({', '.join(changed)})" if changed else "")
    )


def _with_envelope_defaults(payload: dict[str, Any]) -> dict[str, Any]:
    """Fill what a person typing JSON should not have to: id, time and source."""
    envelope = dict(payload.get("envelope") or {})
    envelope.setdefault("event_id", str(uuid.uuid4()))
    envelope.setdefault("occurred_at", datetime.now(UTC).isoformat())
    envelope.setdefault("source", "omni-cli")
    envelope.setdefault("identifiers", {})
    return {**payload, "envelope": envelope}


def validation_message(record: str, exc: ValidationError) -> str:
    """One line that names every wrong field, for the CLI and the HTTP edges."""
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
    ]
    return f"invalid {record.rsplit('.', 1)[-1]}: " + "; ".join(parts)


def produce(
    ctx: typer.Context,
    event_type: Annotated[
        str, typer.Argument(help="e.g. CartItemAdded or omni.cart.CartItemAdded")
    ],
    json_: Annotated[str, typer.Option("--json", help="the event as JSON")],
    key: Annotated[str | None, typer.Option(help="override the catalogue's key rule")] = None,
) -> None:
    """Validate one event against its model, encode it as Avro and produce it (acks=all)."""
    settings = _settings(ctx)
    record = resolve_record_name(event_type)
    topic = topic_for_record(record)
    try:
        payload = orjson.loads(json_)
    except orjson.JSONDecodeError as exc:
        raise CatalogueError(f"--json is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise CatalogueError("--json must be a JSON object")
    model = model_for(record)
    if "envelope" in model.model_fields:
        payload = _with_envelope_defaults(payload)
    try:
        event = model.model_validate(payload)
    except ValidationError as exc:
        raise CatalogueError(validation_message(record, exc)) from exc
    value = to_avro(event)
    if key is None:
        key = topic.key.key_of(value) if topic.key else None
    client = registry.make_client(settings.registry)
    name = topic.physical(settings.topics.prefix)
    data = FastEncoder(client, load_schema_set()).encode(name, record, value)
    _send(settings, name, key, data)
    console.print(f"produced {record.rsplit('.', 1)[-1]} to {name} key={key}")


def _send(settings: Settings, topic: str, key: str | None, data: bytes) -> None:
    producer = Producer(settings.kafka.as_producer_dict(linger_ms=0))
    errors: list[KafkaError | None] = []
    producer.produce(topic, value=data, key=key, on_delivery=lambda err, _m: errors.append(err))
    if producer.flush(30) > 0:
        raise ContractError(f"no acknowledgement from Kafka for {topic} within 30 s")
    refused = next((e for e in errors if e is not None), None)
    if refused is not None:
        raise ContractError(f"Kafka refused the event: {refused.str()}")


def tail(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(help="catalogue name, e.g. omni.view.carts")],
    from_beginning: Annotated[bool, typer.Option(help="start at the earliest offset")] = True,
    max_messages: Annotated[int, typer.Option("--max", help="stop after N records (0: never)")] = 0,
    idle_timeout: Annotated[float, typer.Option(help="stop after S idle seconds (0: never)")] = 0,
) -> None:
    """Consume a topic and print each record decoded, one JSON object per line."""
    settings = _settings(ctx)
    name = f"{settings.topics.prefix}{topic}"
    decoder = FastDecoder(registry.make_client(settings.registry), load_schema_set())
    consumer = Consumer(
        {
            **settings.kafka.as_librdkafka_dict(),
            "group.id": f"omni-tail-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest" if from_beginning else "latest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([name])
    try:
        _tail_loop(consumer, decoder, max_messages, idle_timeout)
    finally:
        consumer.close()


def _tail_loop(consumer: Consumer, decoder: FastDecoder, limit: int, idle: float) -> None:
    seen, idle_since = 0, datetime.now(UTC)
    while not limit or seen < limit:
        message = consumer.poll(0.5)
        if message is None:
            if idle and (datetime.now(UTC) - idle_since).total_seconds() > idle:
                return
            continue
        error = message.error()
        if error is not None:
            raise ContractError(f"consuming: {error.str()}")
        idle_since = datetime.now(UTC)
        seen += 1
        typer.echo(orjson.dumps(describe(message, decoder), default=str).decode())


def describe(message: Any, decoder: FastDecoder) -> dict[str, Any]:
    """A record as JSON-ready data; undecodable bytes are shown, not hidden."""
    key = message.key()
    out: dict[str, Any] = {
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "key": key.decode(errors="replace") if key is not None else None,
    }
    headers = message.headers() or []
    if headers:
        out["headers"] = {k: (v.decode(errors="replace") if v else v) for k, v in headers}
    raw = message.value()
    if raw is None:
        out["value"] = None
        return out
    try:
        decoded = decoder.decode(raw)
    except DecodeError as exc:
        out["undecodable"] = f"{exc.reason}: {exc}"
        out["value_base64"] = base64.b64encode(raw).decode()
        return out
    out["record"] = decoded.record
    out["value"] = decoded.value
    return out
