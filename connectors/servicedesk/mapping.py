"""Service-desk webhook events to ``omni.service.*`` records: pure, each error naming its field.

The JSON contract is ``connectors/servicedesk/event.schema.json``; in short,
every event has ``id`` (the desk's own event id: a resend with the same id
is the same event), ``type``, ``occurred_at`` and optionally ``channel``,
``conversation_id`` and ``customer`` (``customer_id``, ``email``, ``phone``,
``loyalty_id``, ``anonymous_id``; e-mail and phone are hashed here, never
published raw), plus what its type needs:

| ``type`` | record | fields |
|---|---|---|
| ``case.opened`` | ``CaseOpened`` | ``case_id``; ``subject``, ``category``, ``priority`` |
| ``case.message`` | ``CaseMessage`` | ``case_id``, ``body``; ``author``, ``medium`` |
| ``call.started`` | ``CallStarted`` | ``call_id``; ``case_id``, ``direction`` |
| ``call.ended`` | ``CallEnded`` | ``call_id``, ``duration_s``; ``case_id`` |
| ``case.resolved`` | ``CaseResolved`` | ``case_id``; ``resolution`` |
| ``csat.submitted`` | ``CsatSubmitted`` | ``case_id``, ``score`` (1-5); ``comment`` |

Without ``channel`` the envelope's channel follows the event: calls are
``call_centre``, a message its medium, anything else ``unknown``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.core.events import Outgoing, event_id_for, sha256_email, sha256_phone
from connectors.core.fields import FieldError, Fields

RECORD_OF = {
    "case.opened": "omni.service.CaseOpened",
    "case.message": "omni.service.CaseMessage",
    "call.started": "omni.service.CallStarted",
    "call.ended": "omni.service.CallEnded",
    "case.resolved": "omni.service.CaseResolved",
    "csat.submitted": "omni.service.CsatSubmitted",
}
RECORDS = tuple(RECORD_OF.values())
CHANNELS = ("chat", "call_centre", "email", "social", "sms", "app", "web", "store", "unknown")
PRIORITIES = ("low", "normal", "high", "urgent")
AUTHORS = ("customer", "agent", "bot", "unknown")
MEDIA = ("chat", "email", "call", "social", "sms", "unknown")
DIRECTIONS = ("inbound", "outbound")
CHANNEL_OF_MEDIUM = {
    "call": "call_centre",
    "chat": "chat",
    "email": "email",
    "social": "social",
    "sms": "sms",
}
MAX_DURATION_S = 7 * 24 * 3600


def identifiers(customer: Fields) -> dict[str, str | None]:
    email = customer.text("email")
    phone = customer.ident("phone")
    return {
        "customer_id": customer.ident("customer_id"),
        "anonymous_id": customer.ident("anonymous_id"),
        "device_id": None,
        "email_sha256": sha256_email(email) if email else customer.text("email_sha256"),
        "phone_sha256": sha256_phone(phone) if phone else customer.text("phone_sha256"),
        "loyalty_id": customer.ident("loyalty_id"),
    }


def envelope(event: Fields, kind: str, source: str) -> dict[str, Any]:
    default = "call_centre" if kind.startswith("call.") else "unknown"
    if kind == "case.message":
        default = CHANNEL_OF_MEDIUM.get(event.text("medium") or "", "unknown")
    return {
        "event_id": event_id_for(source, event.required_ident("id")),
        "occurred_at": event.required_instant("occurred_at"),
        "channel": event.choice("channel", CHANNELS, default),
        "source": source,
        "identifiers": identifiers(event.obj("customer")),
        "session_id": event.ident("conversation_id"),
        "correlation_id": event.ident("case_id") or event.ident("call_id"),
        "sequence": None,
    }


def _opened(event: Fields) -> dict[str, Any]:
    return {
        "case_id": event.required_ident("case_id"),
        "subject": event.text("subject") or "",
        "category": event.text("category"),
        "priority": event.choice("priority", PRIORITIES, "normal"),
    }


def _message(event: Fields) -> dict[str, Any]:
    body = event.data.get("body")
    if not isinstance(body, str) or not body.strip():
        raise event.error("body", "is required (the message text)")
    return {
        "case_id": event.required_ident("case_id"),
        "author": event.choice("author", AUTHORS, "unknown"),
        "medium": event.choice("medium", MEDIA, "unknown"),
        "body": body,
    }


def _call_started(event: Fields) -> dict[str, Any]:
    return {
        "call_id": event.required_ident("call_id"),
        "case_id": event.ident("case_id"),
        "direction": event.choice("direction", DIRECTIONS, "inbound"),
    }


def _call_ended(event: Fields) -> dict[str, Any]:
    duration = event.required_integer("duration_s", MAX_DURATION_S)
    if duration < 0:
        raise event.error("duration_s", "must not be negative")
    return {
        "call_id": event.required_ident("call_id"),
        "case_id": event.ident("case_id"),
        "duration_s": duration,
    }


def _resolved(event: Fields) -> dict[str, Any]:
    return {"case_id": event.required_ident("case_id"), "resolution": event.text("resolution")}


def _csat(event: Fields) -> dict[str, Any]:
    score = event.required_integer("score")
    if not 1 <= score <= 5:
        raise event.error("score", "must be from 1 to 5")
    return {
        "case_id": event.required_ident("case_id"),
        "score": score,
        "comment": event.text("comment"),
    }


BODIES: dict[str, Callable[[Fields], dict[str, Any]]] = {
    "case.opened": _opened,
    "case.message": _message,
    "call.started": _call_started,
    "call.ended": _call_ended,
    "case.resolved": _resolved,
    "csat.submitted": _csat,
}


def map_event(value: Any, path: str, source: str) -> Outgoing:
    """One webhook event to its record; ``FieldError`` names the first bad field."""
    if not isinstance(value, dict):
        raise FieldError(path or "(body)", "must be a JSON object")
    event = Fields(value, path)
    kind = event.choice("type", tuple(RECORD_OF))
    body = BODIES[kind](event)
    return Outgoing(RECORD_OF[kind], {"envelope": envelope(event, kind, source), **body})
