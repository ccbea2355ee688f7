"""200k tracking calls as 2,000 POSTs of 100 through the WSGI application gunicorn serves
(cdp_site.wsgi:application; 10% replayed duplicates), against raw sqlite3.executemany of the same
rows into a keyed table in one WAL transaction.
Gate: stored inbox rows must equal the unique messageIds. Target: <= 3.5x."""
from __future__ import annotations

import base64
import io
import json
import random
import sqlite3
import sys

from _setup import django_setup, report, timed

REQUESTS, PER_REQUEST, REPLAY_SHARE = 2000, 100, 0.10


def make_batches() -> tuple[list[bytes], int]:
    rng = random.Random(7)
    sent, batches, unique = [], [], 0
    for r in range(REQUESTS):
        calls = []
        for i in range(PER_REQUEST):
            if sent and rng.random() < REPLAY_SHARE:
                calls.append(rng.choice(sent))  # a client retrying a call it sent before
                continue
            unique += 1
            call = {"type": "track", "event": ("Product Viewed", "Order Completed")[i % 2], "userId": f"u{rng.randrange(5000)}",
                    "anonymousId": f"a{rng.randrange(9000)}", "messageId": f"msg-{r}-{i}",
                    "properties": {"sku": f"sku-{rng.randrange(300)}", "price": round(rng.random() * 100, 2)},
                    "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
                    "timestamp": "2026-11-25T10:00:00Z"}
            sent.append(call)
            calls.append(call)
        batches.append(json.dumps({"batch": calls, "sentAt": "2026-11-25T10:00:01Z"}).encode())
    return batches, unique


def main() -> int:
    data_dir = django_setup()
    from cdp_site.handlers import Application  # what gunicorn serves (cdp_site.wsgi:application)
    from tenancy import services
    from tracking.models import InboxMessage

    tenant = services.tenant_create(slug="bench", actor="bench")
    _, write_key = services.write_key_create(tenant=tenant, name="bench", actor="bench")
    auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    batches, unique = make_batches()
    handler = Application()
    statuses = []

    def post_all():
        for body in batches:
            environ = {
                "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/batch", "SERVER_NAME": "localhost", "SERVER_PORT": "8000",
                "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "CONTENT_TYPE": "application/json",
                "CONTENT_LENGTH": str(len(body)), "HTTP_AUTHORIZATION": auth, "REMOTE_ADDR": "127.0.0.1",
            }
            response = handler(environ, lambda status, headers: statuses.append(status))
            b"".join(response)

    product = timed(post_all)
    stored = InboxMessage.objects.count()

    # Reference: the same rows (every call, duplicates included) into a keyed table, one WAL transaction.
    rows = []
    for body in batches:
        for call in json.loads(body)["batch"]:
            rows.append(("bench", call["messageId"], call["type"], json.dumps(call), "2026-11-25 10:00:01"))
    raw = sqlite3.connect(data_dir / "reference.sqlite3", isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("CREATE TABLE inbox (tenant TEXT, message_id TEXT, type TEXT, payload TEXT, received_at TEXT, PRIMARY KEY (tenant, message_id))")

    def reference_insert():
        raw.execute("BEGIN")
        raw.executemany("INSERT OR IGNORE INTO inbox VALUES (?, ?, ?, ?, ?)", rows)
        raw.execute("COMMIT")

    reference = timed(reference_insert)
    reference_stored = raw.execute("SELECT COUNT(*) FROM inbox").fetchone()[0]
    ok = set(statuses) == {"200 OK"} and stored == unique == reference_stored
    if not ok:
        print(f"correctness gate failed: statuses {set(statuses)}, stored {stored}, unique {unique}, reference {reference_stored}")
        return 1
    report({"calls": str(REQUESTS * PER_REQUEST), "unique_message_ids": str(unique), "product_seconds": product,
            "reference_seconds": reference, "product_calls_per_second": REQUESTS * PER_REQUEST / product}, product / reference)
    return 0


if __name__ == "__main__":
    sys.exit(main())
