"""What a request says beyond its messages: who sent it and the clocks involved."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Origin:
    """The write key's source and channel, the server's receive time and the batch's sentAt."""

    source: str
    channel: str
    received_at_ms: int
    sent_at_ms: int | None = None
    default_currency: str = "EUR"
    returns_location_id: str = "online"


def corrected_timestamp(received_ms: int, sent_ms: int | None, timestamp_ms: int | None) -> int:
    """Segment's clock-skew correction, ``timestamp = receivedAt - (sentAt - timestamp)``.

    A device whose clock is an hour fast sends timestamps and ``sentAt`` an hour
    ahead; their difference is still how long the event waited on the device,
    and the server's clock says when it arrived. Without ``sentAt`` the
    device's timestamp is all we have; without a timestamp, arrival is.
    """
    if timestamp_ms is None:
        return received_ms
    if sent_ms is None:
        return timestamp_ms
    return received_ms - (sent_ms - timestamp_ms)
