"""The commit ledger: a commit never passes an unsettled batch and never skips an offset."""

from __future__ import annotations

from dataclasses import dataclass

from streams.transport.ledger import Ledger

TP = ("src", 0)


@dataclass
class Batch:
    offset: int
    settled: bool = False


def deliver(ledger: Ledger, last: int, generation: int = 1) -> Batch:
    batch = Batch(last)
    ledger.register(TP, batch, generation)
    return batch


def test_commit_moves_over_the_settled_prefix_only() -> None:
    ledger = Ledger()
    a, b, c = deliver(ledger, 9), deliver(ledger, 19), deliver(ledger, 29)
    assert ledger.advance(TP) is None
    a.settled = c.settled = True
    assert ledger.advance(TP) == 10
    assert ledger.advance(TP) is None, "c is settled but b before it is not"
    b.settled = True
    assert ledger.advance(TP) == 30
    assert ledger.pending(TP) == 0


def test_a_single_record_batch_at_offset_zero_does_not_stall_commits() -> None:
    # Faust's gap tracking stalls here for good (see test_faust_gaps.py).
    ledger = Ledger()
    first, rest = deliver(ledger, 0), deliver(ledger, 99)
    first.settled = rest.settled = True
    assert ledger.advance(TP) == 100


def test_a_batch_delivered_again_after_a_seek_back_is_not_listed() -> None:
    ledger = Ledger()
    a, b = deliver(ledger, 199), deliver(ledger, 299)
    again = Batch(249)  # the same records, fetched again from an older offset
    assert not ledger.register(TP, again, 1)
    assert ledger.pending(TP) == 2
    a.settled = b.settled = True
    assert ledger.advance(TP) == 300
    partly_new = deliver(ledger, 349)  # 250..349: only 300..349 are new
    assert ledger.pending(TP) == 1
    partly_new.settled = True
    assert ledger.advance(TP) == 350


def test_a_new_generation_drops_what_the_old_one_listed() -> None:
    ledger = Ledger()
    deliver(ledger, 99, generation=1)  # never settles: Faust skips old generations
    fresh = deliver(ledger, 49, generation=2)  # re-fetched from the committed offset
    assert ledger.pending(TP) == 1
    fresh.settled = True
    assert ledger.advance(TP) == 50


def test_forgetting_a_revoked_partition_starts_it_afresh() -> None:
    ledger = Ledger()
    deliver(ledger, 9).settled = True
    ledger.forget([TP])
    assert ledger.advance(TP) is None
    assert ledger.register(TP, Batch(5), 1), "after forgetting, any offset is new"
