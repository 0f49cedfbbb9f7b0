"""The identity graph: profiles, links, merges and unmerges (pure rules)."""

from streams.identity.model import (
    Graph,
    MergeRecord,
    Profile,
    UnmergeRecord,
    from_state_dict,
    to_state_dict,
    to_view,
)
from streams.identity.rules import (
    Kind,
    Linked,
    MergeResult,
    Resolution,
    UnmergeResult,
    apply,
    canonical_for,
    link,
    merge,
    resolve,
    unmerge,
)

__all__ = [
    "Graph",
    "Kind",
    "Linked",
    "MergeRecord",
    "MergeResult",
    "Profile",
    "Resolution",
    "UnmergeRecord",
    "UnmergeResult",
    "apply",
    "canonical_for",
    "from_state_dict",
    "link",
    "merge",
    "resolve",
    "to_state_dict",
    "to_view",
    "unmerge",
]
