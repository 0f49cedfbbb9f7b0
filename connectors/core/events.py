"""What a connector hands the publisher: plain data, so mapping code stays pure.

A connector's mapping turns a channel's payload into ``Outgoing`` records
without importing Kafka, which is what lets it be unit-tested on its own; the
``Publisher`` picks topic, key and schema from the catalogue by ``record``.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

# Namespace of the deterministic event ids connectors derive from a channel's own ids.
EVENT_ID_NAMESPACE = uuid.UUID("1f0c7a52-3b7e-5c2a-9d64-0b6e2f4c9a11")
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One event to publish: its record's full name, its Avro-ready value, an optional key.

    ``key`` is for the rare record whose key is not the catalogue's rule; the
    publisher derives it from the value otherwise.
    """

    record: str
    value: dict[str, Any]
    key: str | None = None


def event_id_for(source: str, external_id: str) -> str:
    """A stable event id: a channel's UUID as is, anything else as uuid5(source, id).

    A retried request carries the same channel id, so it gets the same event id
    and the processors drop the second copy.
    """
    if CANONICAL_UUID.fullmatch(external_id):
        return external_id
    try:
        return str(uuid.UUID(external_id))
    except ValueError:
        return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{source}\x1f{external_id}"))


def derived_event_id(event_id: str, record: str) -> str:
    """The id of a second record one channel event produces (deterministic, distinct)."""
    return str(uuid.uuid5(uuid.UUID(event_id), record))


def sha256_email(email: str) -> str:
    """The contract's e-mail hash: hex SHA-256 of the trimmed, lowercased address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def sha256_phone(phone: str) -> str:
    """The contract's phone hash: hex SHA-256 of ``+`` and the digits (E.164 without spaces)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return hashlib.sha256(f"+{digits}".encode()).hexdigest()
