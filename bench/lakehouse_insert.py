"""200k event rows through the lakehouse layer's bulk insert (embedded SQLite engine) against raw
sqlite3.executemany of the same rows into the same table in one transaction. Target: <= 1.5x."""
from __future__ import annotations

import json
import sqlite3
import sys
from datetime import UTC, datetime, timedelta

from _setup import django_setup, report, timed

ROWS = 200_000


def make_rows(events_table) -> list[tuple]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(ROWS):
        when = start + timedelta(seconds=n)
        row = {
            "tenant_id": "bench", "message_id": f"msg-{n:07d}", "type": "track", "event": ("Product Viewed", "Order Completed")[n % 2],
            "cdp_id": f"c{n % 5000}", "user_id": f"u{n % 5000}", "anonymous_id": f"a{n % 7000}",
            "properties": json.dumps({"sku": n % 300, "revenue": n % 97}), "traits": None, "context": '{"ip":"192.0.2.1"}',
            "event_time": when, "sent_at": when, "received_at": when, "loaded_at": when,
        }
        rows.append(tuple(row.get(c) for c in events_table.column_names))
    return rows


def main() -> int:
    data_dir = django_setup()
    from customers.tables import EVENTS
    from lakehouse.backends.embedded import embedded_engine
    from lakehouse.migrate import migrate

    engine = embedded_engine()
    migrate(engine)
    rows = make_rows(EVENTS)

    product = timed(lambda: engine.insert_many(EVENTS, rows))

    # The reference: the same table (same DDL, key and indexes) in its own file, WAL, one transaction.
    raw = sqlite3.connect(data_dir / "reference.sqlite3", isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    for ddl in engine.create_table_sql(EVENTS):
        raw.execute(ddl)
    placeholders = ", ".join("?" * len(EVENTS.columns))

    def reference_insert():
        raw.execute("BEGIN")
        raw.executemany(f'INSERT INTO "events" VALUES ({placeholders})', rows)
        raw.execute("COMMIT")

    reference = timed(reference_insert)

    stored = engine.row_count("events")
    reference_stored = raw.execute('SELECT COUNT(*) FROM "events"').fetchone()[0]
    if stored != ROWS or reference_stored != ROWS:
        print(f"correctness gate failed: stored {stored} and {reference_stored}, expected {ROWS}")
        return 1
    report({"rows": str(ROWS), "product_seconds": product, "reference_seconds": reference,
            "product_rows_per_second": ROWS / product}, product / reference)
    return 0


if __name__ == "__main__":
    sys.exit(main())
