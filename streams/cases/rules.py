"""Service case rules: status, messages, calls, resolution time and satisfaction.

Status follows the conversation: a customer message puts the case on the
agent (``awaiting_agent``), an agent message puts it on the customer
(``awaiting_customer``); bot messages and calls leave it. A resolved case is
reopened only by a newer customer message; an agent's follow-up after
resolving does not reopen it. Status, latest message, CSAT and last channel
are last-writer-wins by ``occurred_at`` (ties to the greater event id), so a
late event never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from schemas.catalogue import SERVICE_CASES
from schemas.exceptions import CatalogueError
from streams.cases.model import Case
from streams.common.events import Meta, meta, short_name
from streams.common.idempotency import Stamped, newer
from streams.common.identifiers import identity_keys
from streams.common.outcome import Applied, Rejected
from streams.common.text import first_line
from streams.exceptions import UnsupportedEvent

AUTHOR_STATUS = {"customer": "awaiting_agent", "agent": "awaiting_customer"}
UNSTAMPED: Stamped[str] = Stamped("", -1, "")
EVENTS = frozenset(
    {"CaseOpened", "CaseMessage", "CallStarted", "CallEnded", "CaseResolved", "CsatSubmitted"}
)

Outcome = Applied[Case] | Rejected


def open_case(case_id: str, m: Meta) -> Case:
    """A case first seen with this event: open, and not yet stamped by any status change."""
    keys = identity_keys(m.identifiers)
    return Case(
        case_id=case_id,
        customer_key=keys[0] if keys else None,
        opened_at=m.at,
        status=Stamped("open", -1, ""),
        last_message=UNSTAMPED,
        channel=UNSTAMPED,
        updated_at=m.at,
    )


def apply(case: Case | None, record_name: str, event: Mapping[str, Any]) -> Outcome:
    """Fold one event of ``omni.service.cases``; any of them may be the first one seen."""
    name = short_name(record_name)
    if name not in EVENTS:
        raise UnsupportedEvent(f"case rules do not fold {record_name}")
    m = meta(event)
    if case is None:
        try:
            case = open_case(SERVICE_CASES.key.key_of(event) if SERVICE_CASES.key else "", m)
        except CatalogueError:
            return Rejected("no_case_id")
    if name == "CsatSubmitted" and not 1 <= event["score"] <= 5:
        return Rejected("bad_score", str(event["score"]))
    if name == "CallEnded" and event["duration_s"] < 0:
        return Rejected("bad_duration", str(event["duration_s"]))
    touched = _touch(case, m)
    return Applied(_FOLD[name](touched, event, m))


def _touch(case: Case, m: Meta) -> Case:
    """Every event is a contact: newest channel, updated time, next version."""
    channel = case.channel
    if newer(m.at, m.event_id, channel.at, channel.event_id):
        channel = Stamped(m.channel, m.at, m.event_id)
    return replace(
        case,
        channel=channel,
        customer_key=case.customer_key or next(iter(identity_keys(m.identifiers)), None),
        updated_at=max(case.updated_at, m.at),
        version=case.version + 1,
    )


def _set_status(case: Case, status: str, m: Meta) -> Case:
    held = case.status
    if not newer(m.at, m.event_id, held.at, held.event_id):
        return case
    if held.value == "resolved" and status == "resolved":
        return case  # keep the first resolution time
    resolved_at = m.at if status == "resolved" else None
    return replace(case, status=Stamped(status, m.at, m.event_id), resolved_at=resolved_at)


def _opened(case: Case, event: Mapping[str, Any], m: Meta) -> Case:
    return replace(
        case,
        subject=event.get("subject") or case.subject,
        category=event.get("category") or case.category,
        priority=event.get("priority") or case.priority,
        opened_at=min(case.opened_at, m.at),
    )


def _message(case: Case, event: Mapping[str, Any], m: Meta) -> Case:
    case = replace(case, messages=case.messages + 1)
    held = case.last_message
    if newer(m.at, m.event_id, held.at, held.event_id):
        case = replace(case, last_message=Stamped(first_line(event["body"]), m.at, m.event_id))
    status = AUTHOR_STATUS.get(event["author"])
    if status is None or (case.status.value == "resolved" and status != "awaiting_agent"):
        return case
    return _set_status(case, status, m)


def _call_started(case: Case, event: Mapping[str, Any], m: Meta) -> Case:
    return replace(case, calls=case.calls + 1)


def _call_ended(case: Case, event: Mapping[str, Any], m: Meta) -> Case:
    return replace(case, talk_time_s=case.talk_time_s + event["duration_s"])


def _resolved(case: Case, event: Mapping[str, Any], m: Meta) -> Case:
    return _set_status(case, "resolved", m)


def _csat(case: Case, event: Mapping[str, Any], m: Meta) -> Case:
    held = case.csat
    if held is not None and not newer(m.at, m.event_id, held.at, held.event_id):
        return case
    return replace(case, csat=Stamped(event["score"], m.at, m.event_id))


def reassign(case: Case, customer_key: str, at: int) -> Case:
    """Identity merge hook: the case now belongs to the survivor's identity key."""
    if case.customer_key == customer_key:
        return case
    return replace(
        case,
        customer_key=customer_key,
        updated_at=max(case.updated_at, at),
        version=case.version + 1,
    )


_FOLD = {
    "CaseOpened": _opened,
    "CaseMessage": _message,
    "CallStarted": _call_started,
    "CallEnded": _call_ended,
    "CaseResolved": _resolved,
    "CsatSubmitted": _csat,
}
