"""Segment messages to the contract's Avro events: pure functions, no Kafka, no I/O.

| Segment call | record(s) |
|---|---|
| ``identify`` with ``userId`` | ``CustomerIdentified`` (traits; e-mail and phone only hashed) |
| ``identify`` without, but with e-mail or phone | ``IdentifiersLinked`` (anonymous id <-> hashes) |
| ``alias`` | ``IdentifiersLinked``: ``userId`` linked to ``previousId`` (as anonymous id) |
| ``page`` / ``screen`` | ``PageViewed`` / ``ScreenViewed`` |
| ``track`` of an Ecommerce spec v2 event | see ``connectors.collector.ecommerce`` |
| other ``track``, ``group``, anonymous ``identify`` | ``InteractionTracked``: never dropped |

Envelope: ``event_id`` is the ``messageId`` when it is a UUID, else
uuid5(source, messageId), so an SDK's retry deduplicates downstream;
``occurred_at`` is corrected for the device's clock exactly as Segment does,
``timestamp = receivedAt - (sentAt - timestamp)`` when ``sentAt`` is known.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from connectors.collector import ecommerce
from connectors.collector.fields import (
    FieldError,
    ident,
    instant,
    join,
    obj,
    required_ident,
    stringify,
    text,
)
from connectors.collector.origin import Origin, corrected_timestamp
from connectors.core.events import Outgoing, event_id_for, sha256_email, sha256_phone
from connectors.core.exceptions import InvalidEvent

__all__ = ["Origin", "corrected_timestamp", "map_message", "map_messages"]

MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
MAX_PROBLEMS = 20
PII_TRAITS = frozenset({"email", "phone", "password"})

CUSTOMER_IDENTIFIED = "omni.customer.CustomerIdentified"
IDENTIFIERS_LINKED = "omni.customer.IdentifiersLinked"
PAGE_VIEWED = "omni.customer.PageViewed"
SCREEN_VIEWED = "omni.customer.ScreenViewed"
INTERACTION_TRACKED = "omni.customer.InteractionTracked"
EMPTY_IDENTIFIERS: dict[str, str | None] = {
    "customer_id": None,
    "anonymous_id": None,
    "device_id": None,
    "email_sha256": None,
    "phone_sha256": None,
    "loyalty_id": None,
}


def map_messages(
    messages: Sequence[Any], origin: Origin, *, batch: bool, implied_type: str | None = None
) -> list[Outgoing]:
    """Every message of a request, or ``InvalidEvent`` naming each bad field (up to 20)."""
    out: list[Outgoing] = []
    problems: list[str] = []
    for index, message in enumerate(messages):
        path = f"batch[{index}]" if batch else ""
        try:
            out.extend(map_message(message, path, origin, implied_type))
        except InvalidEvent as exc:
            problems.extend(exc.problems)
            if len(problems) >= MAX_PROBLEMS:
                break
    if problems:
        raise InvalidEvent(problems)
    return out


def map_message(
    message: Any, path: str, origin: Origin, implied_type: str | None = None
) -> list[Outgoing]:
    """One Segment message; ``implied_type`` is the endpoint's (``/v1/track``), if any."""
    if not isinstance(message, dict):
        raise FieldError(path or "(body)", "must be a JSON object")
    kind = implied_type or text(message, "type", path)
    if kind is None:
        raise FieldError(join(path, "type"), "is required")
    mapper = _MAPPERS.get(kind)
    if mapper is None:
        raise FieldError(join(path, "type"), f"must be one of {', '.join(MESSAGE_TYPES)}")
    return mapper(message, path, envelope(message, path, origin), origin)


def envelope(message: dict[str, Any], path: str, origin: Origin) -> dict[str, Any]:
    """The contract's envelope from the fields every Segment message has."""
    context = obj(message, "context", path)
    context_path = join(path, "context")
    user_id = ident(message, "userId", path)
    anonymous_id = ident(message, "anonymousId", path)
    if user_id is None and anonymous_id is None:
        raise FieldError(join(path, "userId"), "userId or anonymousId is required")
    traits = obj(context, "traits", context_path)
    identifiers = {
        **EMPTY_IDENTIFIERS,
        "customer_id": user_id,
        "anonymous_id": anonymous_id,
        "device_id": ident(
            obj(context, "device", context_path), "id", join(context_path, "device")
        ),
    }
    _add_contact_hashes(identifiers, traits, join(context_path, "traits"))
    timestamp = instant(message, "timestamp", path)
    if timestamp is None:
        timestamp = instant(message, "originalTimestamp", path)
    sent_at = instant(message, "sentAt", path)
    return {
        "event_id": _event_id(message, path, origin),
        "occurred_at": corrected_timestamp(
            origin.received_at_ms, sent_at if sent_at is not None else origin.sent_at_ms, timestamp
        ),
        "channel": origin.channel,
        "source": origin.source,
        "identifiers": identifiers,
        "session_id": ident(context, "sessionId", context_path),
        "correlation_id": None,
        "sequence": None,
    }


def _add_contact_hashes(identifiers: dict[str, Any], traits: dict[str, Any], path: str) -> None:
    """Raw e-mail addresses and phone numbers never travel: only their hashes."""
    email = text(traits, "email", path)
    if email:
        identifiers["email_sha256"] = sha256_email(email)
    phone = ident(traits, "phone", path)
    if phone:
        identifiers["phone_sha256"] = sha256_phone(phone)
    loyalty = ident(traits, "loyalty_id", path)
    if loyalty:
        identifiers["loyalty_id"] = loyalty


def _event_id(message: dict[str, Any], path: str, origin: Origin) -> str:
    message_id = ident(message, "messageId", path)
    if message_id is None:
        # No id to deduplicate on: the content is the id, so an identical resend is a duplicate.
        digest = hashlib.sha256(orjson.dumps(message, option=orjson.OPT_SORT_KEYS)).hexdigest()
        message_id = f"sha256:{digest}"
    return event_id_for(origin.source, message_id)


def _identify(
    message: dict[str, Any], path: str, env: dict[str, Any], _origin: Origin
) -> list[Outgoing]:
    traits_path = join(path, "traits")
    # Segment sends identify traits at the root, RudderStack in context.traits: take both.
    context = obj(message, "context", path)
    traits = {**obj(context, "traits", join(path, "context")), **obj(message, "traits", path)}
    _add_contact_hashes(env["identifiers"], traits, traits_path)
    ids = env["identifiers"]
    customer_id = ids["customer_id"]
    if customer_id is not None:
        value = {
            "envelope": env,
            "customer_id": customer_id,
            "traits": stringify(traits, PII_TRAITS),
        }
        return [Outgoing(CUSTOMER_IDENTIFIED, value)]
    if ids["email_sha256"] or ids["phone_sha256"]:
        linked = {
            **EMPTY_IDENTIFIERS,
            "email_sha256": ids["email_sha256"],
            "phone_sha256": ids["phone_sha256"],
        }
        return [
            Outgoing(IDENTIFIERS_LINKED, {"envelope": env, "reason": "unknown", "linked": linked})
        ]
    return [_tracked(env, "Identify", stringify(traits, PII_TRAITS))]


def _alias(
    message: dict[str, Any], path: str, env: dict[str, Any], _origin: Origin
) -> list[Outgoing]:
    required_ident(message, "userId", path)
    previous = required_ident(message, "previousId", path)
    linked = {**EMPTY_IDENTIFIERS, "anonymous_id": previous}
    return [Outgoing(IDENTIFIERS_LINKED, {"envelope": env, "reason": "alias", "linked": linked})]


def _page(
    message: dict[str, Any], path: str, env: dict[str, Any], _origin: Origin
) -> list[Outgoing]:
    props_path = join(path, "properties")
    props = obj(message, "properties", path)
    page_path = join(path, "context.page")
    page = obj(obj(message, "context", path), "page", join(path, "context"))
    url = text(props, "url", props_path) or text(page, "url", page_path)
    page_name = text(props, "path", props_path) or text(page, "path", page_path)
    value = {
        "envelope": env,
        "url": url or page_name or "",
        "path": page_name or _path_of(url),
        "title": text(props, "title", props_path) or text(page, "title", page_path),
        "referrer": text(props, "referrer", props_path) or text(page, "referrer", page_path),
    }
    return [Outgoing(PAGE_VIEWED, value)]


def _path_of(url: str | None) -> str:
    if not url:
        return ""
    rest = url.split("://", 1)[-1]
    slash = rest.find("/")
    return rest[slash:].split("?", 1)[0].split("#", 1)[0] if slash >= 0 else "/"


def _screen(
    message: dict[str, Any], path: str, env: dict[str, Any], _origin: Origin
) -> list[Outgoing]:
    props = obj(message, "properties", path)
    name = text(message, "name", path) or text(props, "name", join(path, "properties")) or ""
    return [Outgoing(SCREEN_VIEWED, {"envelope": env, "screen_name": name})]


def _group(
    message: dict[str, Any], path: str, env: dict[str, Any], _origin: Origin
) -> list[Outgoing]:
    group_id = required_ident(message, "groupId", path)
    traits = stringify(obj(message, "traits", path), PII_TRAITS)
    return [_tracked(env, "Group", {**traits, "group_id": group_id})]


def _track(
    message: dict[str, Any], path: str, env: dict[str, Any], origin: Origin
) -> list[Outgoing]:
    name = text(message, "event", path)
    if not name:
        raise FieldError(join(path, "event"), "is required")
    props = obj(message, "properties", path)
    spec = ecommerce.mapper_for(name)
    if spec is not None:
        return spec(props, join(path, "properties"), env, origin)
    return [_tracked(env, name, stringify(props))]


def _tracked(env: dict[str, Any], name: str, properties: dict[str, str]) -> Outgoing:
    return Outgoing(INTERACTION_TRACKED, {"envelope": env, "name": name, "properties": properties})


Mapper = Callable[[dict[str, Any], str, dict[str, Any], Origin], list[Outgoing]]
_MAPPERS: dict[str, Mapper] = {
    "identify": _identify,
    "track": _track,
    "page": _page,
    "screen": _screen,
    "group": _group,
    "alias": _alias,
}
