"""Outcome values shared by every domain.

Rules never raise for a business refusal: they return ``Rejected`` and leave
the state as it was, so an agent can count, log or dead-letter the refusal
without a try/except around every call. When an event changes nothing (a
removal of an unknown SKU, say), rules return ``Applied`` with the *same*
state object, so ``outcome.state is old`` tells the agent it need not write
or emit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Applied(Generic[S]):
    """The event was folded in; ``state`` is the new state (or the old one, unchanged)."""

    state: S


@dataclass(frozen=True, slots=True)
class Rejected:
    """A business refusal; the state is unchanged. ``reason`` is a stable metric label."""

    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Redirected:
    """The state was merged into another key: the agent applies the event to ``merged_into``."""

    merged_into: str
