"""The service case state, its summary view and its table form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.common.events import require, to_datetime
from streams.common.idempotency import Stamped, stamped_from_list, stamped_to_list

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Case:
    """One service case (or a call without one, keyed by its call id).

    Status, latest message, CSAT and last channel are last-writer-wins by the
    time they happened, so a late event cannot reopen a case resolved after it
    or replace a newer message.
    """

    case_id: str
    customer_key: str | None
    opened_at: int
    status: Stamped[str]
    last_message: Stamped[str]
    channel: Stamped[str]
    subject: str = ""
    category: str | None = None
    priority: str = "normal"
    resolved_at: int | None = None
    csat: Stamped[int] | None = None
    messages: int = 0
    calls: int = 0
    talk_time_s: int = 0
    updated_at: int = 0
    version: int = 0

    @property
    def time_to_resolution_s(self) -> int | None:
        if self.resolved_at is None:
            return None
        return max(self.resolved_at - self.opened_at, 0) // 1000

    @property
    def csat_score(self) -> int | None:
        return None if self.csat is None else self.csat.value


def summary(case: Case) -> dict[str, Any]:
    """``omni.view.CaseSummary``, for the customer context."""
    return {
        "case_id": case.case_id,
        "subject": case.subject,
        "status": case.status.value,
        "opened_at": to_datetime(case.opened_at),
        "last_message": case.last_message.value,
    }


to_view = summary


def to_state_dict(case: Case) -> dict[str, Any]:
    """JSON-safe form for the table; stamped fields are ``[value, at, event_id]``."""
    return {
        "v": STATE_VERSION,
        "case_id": case.case_id,
        "customer_key": case.customer_key,
        "opened_at": case.opened_at,
        "status": stamped_to_list(case.status),
        "last_message": stamped_to_list(case.last_message),
        "channel": stamped_to_list(case.channel),
        "subject": case.subject,
        "category": case.category,
        "priority": case.priority,
        "resolved_at": case.resolved_at,
        "csat": None if case.csat is None else stamped_to_list(case.csat),
        "messages": case.messages,
        "calls": case.calls,
        "talk_time_s": case.talk_time_s,
        "updated_at": case.updated_at,
        "version": case.version,
    }


def from_state_dict(data: Mapping[str, Any]) -> Case:
    csat = data.get("csat")
    return Case(
        case_id=require(data, "case_id"),
        customer_key=data.get("customer_key"),
        opened_at=require(data, "opened_at"),
        status=stamped_from_list(require(data, "status")),
        last_message=stamped_from_list(require(data, "last_message")),
        channel=stamped_from_list(require(data, "channel")),
        subject=require(data, "subject"),
        category=data.get("category"),
        priority=data.get("priority", "normal"),
        resolved_at=data.get("resolved_at"),
        csat=None if csat is None else stamped_from_list(csat),
        messages=require(data, "messages"),
        calls=require(data, "calls"),
        talk_time_s=require(data, "talk_time_s"),
        updated_at=require(data, "updated_at"),
        version=require(data, "version"),
    )
