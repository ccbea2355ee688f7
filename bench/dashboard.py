"""The home dashboard's figures (console/dashboard.py) for a tenant with 1,000,000 events over 30
days and 100,000 customers on the embedded SQLite engine, against a raw sqlite3 COUNT(*) of the
same 30 days of events (the least any daily chart must read: one index range, no grouping).
Target: <= 15x (the events-per-hour grouping is most of it; `-v` prints each part's time)."""
from __future__ import annotations

import json
import sqlite3
import sys
from datetime import UTC, datetime, timedelta

from _setup import django_setup, report, timed

EVENTS, CUSTOMERS, DAYS = 1_000_000, 100_000, 30


def main() -> int:
    import os

    django_setup()
    from django.core.management import call_command

    from console.dashboard import dashboard
    from customers.tables import EVENTS as EVENTS_TABLE
    from identity.tables import IDENTITIES
    from lakehouse import get_engine
    from tenancy import services

    call_command("lakehouse", "migrate", stdout=open(os.devnull, "w"))
    tenant = services.tenant_create(slug="bench", actor="bench")
    engine = get_engine()
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    step = timedelta(days=DAYS) / EVENTS
    props = json.dumps({"sku": 1})
    for chunk in range(0, EVENTS, 100_000):
        rows = []
        for n in range(chunk, chunk + 100_000):
            at = now - step * (n + 1)
            rows.append({"tenant_id": "bench", "message_id": f"m{n:07d}", "type": "track", "event": "Viewed",
                         "cdp_id": f"c{n % CUSTOMERS}", "anonymous_id": f"a{n % CUSTOMERS}", "properties": props,
                         "event_time": at, "received_at": at, "loaded_at": at})
        engine.insert_many(EVENTS_TABLE, rows)
    engine.insert_many(IDENTITIES, [{"tenant_id": "bench", "id_type": t, "id_value": f"{t}{c}", "cdp_id": f"c{c}",
                                     "first_seen_at": now, "last_seen_at": now}
                                    for c in range(CUSTOMERS) for t in (("anonymous_id", "user_id") if c % 2 else ("anonymous_id",))])

    board = {}
    product = min(timed(lambda: board.update(b=dashboard(tenant=tenant, now=now))) for _ in range(3))

    from django.db import connection

    raw = sqlite3.connect(connection.settings_dict["NAME"])  # the embedded lakehouse shares the operational database
    since = f"{board['b'].events.days[0][0]:%Y-%m-%d} 00:00:00"  # the chart's first day (the tenant is in UTC)
    counted = []
    reference = min(timed(lambda: counted.append(raw.execute(
        'SELECT COUNT(*) FROM "events" WHERE tenant_id = ? AND event_time >= ?', ("bench", since)).fetchone()[0])) for _ in range(3))

    if "-v" in sys.argv:
        from customers.selectors import event_volume
        from identity.selectors import customer_totals, resolution_since
        from tracking.selectors import ingestion_status
        for name, part in (("event_volume", lambda: event_volume(tenant=tenant, days=DAYS, now=now)),
                           ("customer_totals", lambda: customer_totals(tenant=tenant)),
                           ("resolution_since", lambda: resolution_since(tenant=tenant, since=now - timedelta(days=7))),
                           ("ingestion_status", lambda: ingestion_status(tenant_id=tenant.id, rejected_since=now.date()))):
            print(f"{name}: {timed(part):.3f}")
    b = board["b"]
    if b.customers != CUSTOMERS or b.identified != CUSTOMERS // 2 or b.chart.total != counted[-1] or counted[-1] < EVENTS * 0.9:
        print(f"correctness gate failed: {b.customers} customers, {b.identified} identified, {b.chart.total} charted, "
              f"{counted[-1]} counted")
        return 1
    report({"events": str(EVENTS), "customers": str(CUSTOMERS), "dashboard_seconds": product, "reference_count_seconds": reference},
           product / reference)
    return 0


if __name__ == "__main__":
    sys.exit(main())
