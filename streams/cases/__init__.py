"""Service cases across chat, phone, e-mail and social (pure rules)."""

from streams.cases.model import Case, from_state_dict, summary, to_state_dict, to_view
from streams.cases.rules import Outcome, apply, open_case, reassign

__all__ = [
    "Case",
    "Outcome",
    "apply",
    "from_state_dict",
    "open_case",
    "reassign",
    "summary",
    "to_state_dict",
    "to_view",
]
