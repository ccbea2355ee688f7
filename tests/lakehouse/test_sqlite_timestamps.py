"""SQLite TIMESTAMP columns come out of the driver as aware UTC datetimes, whatever wrote them."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from lakehouse.backends.sqlite import sqlite_timestamp, utc_timestamp


@pytest.mark.parametrize("stored, expected", [
    ("2026-03-01 12:30:05.123456", datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)),  # what the engine writes
    ("2026-03-01 12:30:05", datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)),  # CURRENT_TIMESTAMP
    ("2026-03-01T12:30:05Z", datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)),
    ("2026-03-01 14:30:05.000000+02:00", datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)),
    ("not a time", None),
])
def test_stored_text_reads_as_aware_utc(stored, expected):
    value = utc_timestamp(stored.encode())
    assert value == expected
    if value is not None:
        assert value.utcoffset() == timedelta(0)


@pytest.mark.parametrize("written", [
    datetime(2026, 7, 4, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2026, 7, 4, 23, 59, 59, tzinfo=UTC),  # no microseconds: still the fixed width
    datetime(2026, 7, 4, 23, 59, 59, 5),  # naive: UTC
])
def test_what_the_engine_writes_it_reads_back(written):
    text = sqlite_timestamp(written)
    assert len(text) == 26 and "+" not in text
    assert utc_timestamp(text.encode()) == (written if written.tzinfo else written.replace(tzinfo=UTC))


def test_a_read_through_the_engine_hands_over_utc(lakehouse):
    from customers.sql import CUSTOMER_TIMELINE
    from customers.tables import EVENTS

    at = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
    lakehouse.insert_many(EVENTS, [{"tenant_id": "t-ts", "message_id": "m1", "type": "track", "event": "x", "cdp_id": "c1",
                                    "event_time": at, "received_at": at}])
    row = lakehouse.execute(CUSTOMER_TIMELINE, {"tenant_id": "t-ts", "cdp_id": "c1", "before": at + timedelta(days=1), "limit": 5}).first()
    assert row["event_time"] == at and row["event_time"].tzinfo is UTC
    if lakehouse.vendor == "sqlite":  # the driver itself, before the layer's normalising
        raw = lakehouse.connection.connection.execute('SELECT event_time FROM "events" WHERE tenant_id = ?', ("t-ts",)).fetchone()[0]
        assert raw == at and raw.tzinfo is UTC
