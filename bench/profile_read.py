"""20,000 GET /api/customers/{id} through the WSGI application gunicorn serves
(cdp_site.wsgi:application) against a raw SQLite point lookup of the same customer's traits and
identities plus JSON encoding. Target: <= 10x."""
from __future__ import annotations

import io
import json
import random
import sqlite3
import sys
from datetime import UTC, datetime, timedelta

from _setup import django_setup, report, timed

CUSTOMERS, READS = 2000, 20_000


def main() -> int:
    import os

    os.environ["CDP_API_RATE_LIMIT_PER_MINUTE"] = "0"  # measure the read path, not the throttle
    data_dir = django_setup()
    from django.core.management import call_command

    from cdp_site.handlers import Application  # what gunicorn serves (cdp_site.wsgi:application)
    from customers.tables import TRAITS
    from identity.tables import IDENTITIES
    from lakehouse import get_engine
    from tenancy import services

    call_command("lakehouse", "migrate", stdout=open(os.devnull, "w"))
    tenant = services.tenant_create(slug="bench", actor="bench")
    _, key = services.api_key_create(tenant=tenant, name="bench", role="viewer", actor="bench")
    engine = get_engine()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    identities, traits = [], []
    for c in range(CUSTOMERS):
        cdp_id, at = f"cdp_{c:06d}", start + timedelta(minutes=c)
        identities += [{"tenant_id": "bench", "id_type": t, "id_value": v, "cdp_id": cdp_id, "first_seen_at": at, "last_seen_at": at}
                       for t, v in (("user_id", f"u{c}"), ("anonymous_id", f"a{c}"), ("email", f"c{c}@example.com"))]
        traits += [{"tenant_id": "bench", "cdp_id": cdp_id, "key": k, "value": v, "number_value": None, "updated_at": at, "source": "identify"}
                   for k, v in (("email", f"c{c}@example.com"), ("name", f"Customer {c}"), ("plan", "pro"), ("city", "Oslo"))]
    engine.insert_many(IDENTITIES, identities)
    engine.insert_many(TRAITS, traits)
    rng = random.Random(3)
    targets = [f"cdp_{rng.randrange(CUSTOMERS):06d}" for _ in range(READS)]
    handler, statuses = Application(), set()

    def read_all():
        for cdp_id in targets:
            environ = {"REQUEST_METHOD": "GET", "PATH_INFO": f"/api/customers/{cdp_id}", "SERVER_NAME": "localhost", "SERVER_PORT": "8000",
                       "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "HTTP_AUTHORIZATION": f"Bearer {key}", "REMOTE_ADDR": "127.0.0.1"}
            body = b"".join(handler(environ, lambda status, headers: statuses.add(status)))
        return body

    product = timed(read_all)
    last = json.loads(_read_one(handler, key, targets[-1]))

    raw = sqlite3.connect(data_dir / "cdp.sqlite3")
    def reference_reads():
        for cdp_id in targets:
            rows = raw.execute('SELECT key, value, number_value, updated_at, source FROM "traits" WHERE tenant_id = ? AND cdp_id = ?', ("bench", cdp_id)).fetchall()
            ids = raw.execute('SELECT id_type, id_value, first_seen_at, last_seen_at FROM "identities" WHERE tenant_id = ? AND cdp_id = ?', ("bench", cdp_id)).fetchall()
            json.dumps({"cdp_id": cdp_id, "traits": rows, "identities": ids})

    reference = timed(reference_reads)
    if statuses != {"200 OK"} or last["cdp_id"] != targets[-1] or {t["key"] for t in last["traits"]} != {"email", "name", "plan", "city"}:
        print(f"correctness gate failed: statuses {statuses}, last answer {last}")
        return 1
    report({"reads": str(READS), "product_seconds": product, "reference_seconds": reference,
            "product_reads_per_second": READS / product}, product / reference)
    return 0


def _read_one(handler, key: str, cdp_id: str) -> bytes:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": f"/api/customers/{cdp_id}", "SERVER_NAME": "localhost", "SERVER_PORT": "8000",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "HTTP_AUTHORIZATION": f"Bearer {key}", "REMOTE_ADDR": "127.0.0.1"}
    return b"".join(handler(environ, lambda status, headers: None))


if __name__ == "__main__":
    sys.exit(main())
