"""Clock-skew correction exactly as Segment documents it."""

from __future__ import annotations

from connectors.collector.mapping import Origin, corrected_timestamp, map_message

HOUR = 3_600_000


def test_received_minus_time_waited_on_the_device() -> None:
    # The device clock is an hour fast; the event waited 5 s on the device before sending.
    timestamp, sent_at, received = 10 * HOUR + HOUR, 10 * HOUR + HOUR + 5_000, 10 * HOUR + 200
    assert corrected_timestamp(received, sent_at, timestamp) == received - 5_000


def test_without_sent_at_the_device_timestamp_is_kept() -> None:
    assert corrected_timestamp(1000, None, 400) == 400


def test_without_timestamp_arrival_is_the_time() -> None:
    assert corrected_timestamp(1000, 900, None) == 1000


def test_iso_strings_with_offsets_and_batch_level_sent_at() -> None:
    received = 1_700_000_000_000  # 2023-11-14T22:13:20Z
    origin = Origin("s", "web", received, sent_at_ms=received + HOUR)  # device an hour fast
    message = {
        "type": "track",
        "event": "X",
        "anonymousId": "a",
        "timestamp": "2023-11-15T00:13:10.000+01:00",  # = 23:13:10Z device time, 10 s before sentAt
    }
    [out] = map_message(message, "", origin)
    assert out.value["envelope"]["occurred_at"] == received - 10_000


def test_event_sent_at_wins_over_the_batch_and_z_suffix_parses() -> None:
    received = 1_700_000_000_000
    origin = Origin("s", "web", received, sent_at_ms=0)
    message = {
        "type": "track",
        "event": "X",
        "anonymousId": "a",
        "timestamp": "2023-11-14T22:13:19Z",
        "sentAt": "2023-11-14T22:13:20Z",
    }
    [out] = map_message(message, "", origin)
    assert out.value["envelope"]["occurred_at"] == received - 1_000
