"""Which offsets may be committed when one message stands for a run of records.

Faust's own bookkeeping (``Consumer._acked`` plus the ``_gap`` interval tree)
expects one message per offset and patches holes with gaps. A batch message
has the offset of its *last* record and hides every offset before it, so the
gap machinery would have to describe every batch; it does, but loosely
(``tests/unit/streams/transport/test_faust_gaps.py`` shows both):

* the gap added for a batch includes the batch's own last offset, so that
  offset is acked twice and commits trail a batch behind;
* no gap is added after a batch whose last offset is ``0`` (``_drain_messages``
  tests ``r_offset`` for truth), and then commits stop for good.

So the batching consumer keeps this ledger instead: per partition, the batches
delivered to the agents (handed to the conductor, not merely fetched), oldest
first. Each batch answers for the offsets from the end of the previous one to
its last record, so control records, aborted transactions and compacted holes
belong to the batch after them. The commit point is the end of the longest
prefix of *settled* batches, so it never passes one that is not: nothing is
committed before it is processed, and a commit never skips an offset.

Epochs
    Entries are only meaningful within one consumer generation: a rebalance
    drops the partition's entries (Faust's streams skip messages of an older
    generation, so those would never settle). Within a generation, delivery
    order is processing order (one queue per agent, read in order), so a batch
    that Faust delivers again after a seek back only repeats offsets already
    listed; it is processed but not listed, and commits go on from the first copy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from typing import Protocol


class Entry(Protocol):
    """A delivered batch as the ledger sees it."""

    @property
    def offset(self) -> int:
        """The offset of the batch's last record."""
        ...

    @property
    def settled(self) -> bool:
        """Whether the batch has been fully processed, so its offsets may be committed."""
        ...


class Ledger:
    """Delivered batches per partition and the offset it is safe to commit to."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, deque[Entry]] = {}
        self._next: dict[Hashable, int] = {}
        self._generation: dict[Hashable, int | None] = {}

    def register(self, tp: Hashable, entry: Entry, generation: int | None) -> bool:
        """List a batch handed to the agents; ``False`` if it only repeats listed offsets."""
        if tp not in self._generation or self._generation[tp] != generation:
            self.forget([tp])
            self._generation[tp] = generation
        expected = self._next.get(tp)
        if expected is not None and entry.offset < expected:
            return False
        self._entries.setdefault(tp, deque()).append(entry)
        self._next[tp] = entry.offset + 1
        return True

    def advance(self, tp: Hashable) -> int | None:
        """The new commit offset for ``tp`` (one past the last settled batch), or ``None``."""
        entries = self._entries.get(tp)
        offset = None
        while entries and entries[0].settled:
            offset = entries.popleft().offset + 1
        return offset

    def pending(self, tp: Hashable) -> int:
        """How many listed batches of ``tp`` are not committed yet."""
        return len(self._entries.get(tp, ()))

    def forget(self, tps: Iterable[Hashable]) -> None:
        """Drop partitions (revoked, or a new generation): their batches will come again."""
        for tp in tps:
            self._entries.pop(tp, None)
            self._next.pop(tp, None)
            self._generation.pop(tp, None)
