"""Identity keys: one string per identifier, ``"<kind>:<value>"``.

A flat string is what tables and links are keyed by, so a profile's
identifiers are a set of these keys. Kinds are listed from the most stable to
the least (the same order as the identity topic's partition key), which makes
"the first key" of a profile a deterministic, meaningful choice.

Raw e-mail addresses and phone numbers never travel: connectors hash them with
:func:`normalise_email` and :func:`normalise_phone`, the one definition of the
hash, so the same person hashes alike on every channel.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from streams.exceptions import InvalidIdentifier

# Identifiers field -> key kind, most stable first.
KINDS: dict[str, str] = {
    "customer_id": "customer",
    "anonymous_id": "anonymous",
    "loyalty_id": "loyalty",
    "email_sha256": "email",
    "phone_sha256": "phone",
    "device_id": "device",
}
_RANK = {kind: rank for rank, kind in enumerate(KINDS.values())}
# Key kind -> field of omni.view.IdentifierSet (customer ids are the view's key instead).
_SET_FIELDS = {
    "anonymous": "anonymous_ids",
    "device": "device_ids",
    "email": "email_sha256s",
    "phone": "phone_sha256s",
    "loyalty": "loyalty_ids",
}


def key(kind: str, value: str) -> str:
    """The identity key of one identifier."""
    if kind not in _RANK or not value:
        raise InvalidIdentifier(f"not an identifier: kind={kind!r} value={value!r}")
    return f"{kind}:{value}"


def identity_keys(identifiers: Mapping[str, Any]) -> list[str]:
    """Keys of every identifier set in an ``omni.common.Identifiers`` dict, most stable first."""
    return [f"{kind}:{identifiers[name]}" for name, kind in KINDS.items() if identifiers.get(name)]


def parse_key(identity_key: str) -> tuple[str, str]:
    """``"email:ab12"`` -> ``("email", "ab12")``."""
    kind, sep, value = identity_key.partition(":")
    if not sep or not value or kind not in _RANK:
        raise InvalidIdentifier(f"not an identity key: {identity_key!r}")
    return kind, value


def rank(identity_key: str) -> tuple[int, str]:
    """Sort key: most stable kind first, then by value, so orderings never depend on sets."""
    kind, value = parse_key(identity_key)
    return _RANK[kind], value


def ordered(keys: Iterable[str]) -> list[str]:
    """Keys most stable first (customer, anonymous, loyalty, email, phone, device)."""
    return sorted(keys, key=rank)


def customer_ids(keys: Iterable[str]) -> list[str]:
    """The customer ids among ``keys``, sorted."""
    return sorted(k[len("customer:") :] for k in keys if k.startswith("customer:"))


def identifier_set(keys: Iterable[str]) -> dict[str, list[str]]:
    """The ``omni.view.IdentifierSet`` record of ``keys`` (customer ids are not part of it)."""
    out: dict[str, list[str]] = {name: [] for name in _SET_FIELDS.values()}
    for identity_key in keys:
        kind, value = parse_key(identity_key)
        field = _SET_FIELDS.get(kind)
        if field is not None:
            out[field].append(value)
    for values in out.values():
        values.sort()
    return out


def normalise_email(email: str) -> str:
    """SHA-256 hex of the trimmed, lowercased address: the ``email_sha256`` identifier."""
    cleaned = email.strip().lower()
    if "@" not in cleaned:
        raise InvalidIdentifier("not an e-mail address")
    return hashlib.sha256(cleaned.encode("utf-8")).hexdigest()


def normalise_phone(e164: str) -> str:
    """SHA-256 hex of ``+`` and the digits only: the ``phone_sha256`` identifier.

    Spaces, dashes and brackets differ between channels and must not split a
    person in two; a missing ``+`` is added because E.164 always has one.
    """
    digits = "".join(ch for ch in e164 if ch.isdigit())
    if not digits:
        raise InvalidIdentifier("not a phone number")
    return hashlib.sha256(f"+{digits}".encode()).hexdigest()
