"""What every domain's rules share: the envelope, outcomes, idempotency and identity keys."""

from streams.common.events import Meta, meta, short_name, to_datetime, to_millis
from streams.common.idempotency import (
    SEEN_BOUND,
    Seen,
    Stamped,
    Verdict,
    admit,
    check,
    lww,
    newer,
    record,
)
from streams.common.identifiers import (
    identifier_set,
    identity_keys,
    normalise_email,
    normalise_phone,
    parse_key,
)
from streams.common.outcome import Applied, Redirected, Rejected

__all__ = [
    "SEEN_BOUND",
    "Applied",
    "Meta",
    "Redirected",
    "Rejected",
    "Seen",
    "Stamped",
    "Verdict",
    "admit",
    "check",
    "identifier_set",
    "identity_keys",
    "lww",
    "meta",
    "newer",
    "normalise_email",
    "normalise_phone",
    "parse_key",
    "record",
    "short_name",
    "to_datetime",
    "to_millis",
]
