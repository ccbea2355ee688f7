"""The loader moves each accepted call into the lakehouse exactly once, whatever happens to it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from customers.services import calls_apply
from customers.sql import CUSTOMER_PROFILE
from lakehouse.statements import Statement
from operations.leases import held_lease
from tests.tracking.helpers import inbox_calls
from tracking.loader import LEASE, load_inbox
from tracking.services import ingest

ROOT = Path(__file__).resolve().parents[2]
COUNT = Statement("test.count", "SELECT COUNT(*) AS n, COUNT(DISTINCT message_id) AS ids FROM {events} WHERE tenant_id = :tenant_id")
CUSTOMERS = Statement("test.customers", "SELECT message_id, cdp_id FROM {events} WHERE tenant_id = :tenant_id ORDER BY message_id")


def send(tenant, calls):
    return ingest(tenant=tenant, body=json.dumps({"batch": calls}).encode())


def tracks(n, start=0):
    return [{"type": "track", "event": "Viewed", "userId": f"u{i % 7}", "messageId": f"m{i:05d}"} for i in range(start, start + n)]


def test_a_loader_killed_after_writing_but_before_marking_loads_nothing_twice(lakehouse, tenant_a):
    send(tenant_a.ref, tracks(300))
    # The crash: the lakehouse got the first 200 calls, the inbox was never told.
    pending = inbox_calls(tenant_a.ref.id)[:200]
    calls_apply(lakehouse, tenant_a.ref, pending)
    send(tenant_a.ref, tracks(50, start=250))  # and a client replays some calls meanwhile
    result = load_inbox(batch_size=1)
    assert result.calls == 300
    counts = lakehouse.execute(COUNT, {"tenant_id": tenant_a.slug}).first()
    assert counts == {"n": 300, "ids": 300}
    assert load_inbox().calls == 0


def test_a_batch_accepted_with_a_lone_surrogate_before_they_were_refused_still_loads(lakehouse, tenant_a):
    from tracking.models import InboxBatch

    send(tenant_a.ref, tracks(1))
    send(tenant_a.ref, tracks(1, start=1))
    first = InboxBatch.objects.order_by("id").first()
    first.body = first.body.replace('"Viewed"', '"Viewed \\ud800"')  # as stored by an older version
    first.body = first.body.replace('"track"', '"track", "properties": {"note": "a\\u0000b"}')  # likewise a NUL
    first.save()
    assert load_inbox().calls == 2, "the batch and the one behind it both load"
    events = lakehouse.execute(Statement("test.events", "SELECT event FROM {events} WHERE tenant_id = :tenant_id ORDER BY message_id"),
                               {"tenant_id": tenant_a.slug})
    assert [row["event"] for row in events] == ["Viewed \ufffd\ufffd\ufffd", "Viewed"]
    assert "a\ufffdb" in lakehouse.execute(Statement("test.note", "SELECT properties FROM {events} WHERE tenant_id = :tenant_id "
                                                       "ORDER BY message_id"), {"tenant_id": tenant_a.slug}).first()["properties"]


def test_one_customer_per_user_id_joined_with_the_anonymous_id_on_identify(lakehouse, tenant_a):
    send(tenant_a.ref, [
        {"type": "page", "anonymousId": "anon-1", "messageId": "1", "timestamp": "2026-01-01T00:00:00Z"},
        {"type": "identify", "anonymousId": "anon-1", "userId": "ada", "messageId": "2", "timestamp": "2026-01-01T00:01:00Z",
         "traits": {"email": "ada@example.com"}},
        {"type": "track", "userId": "ada", "event": "Bought", "messageId": "3", "timestamp": "2026-01-01T00:02:00Z"},
        {"type": "track", "userId": "bob", "event": "Bought", "messageId": "4"},
    ])
    load_inbox()
    owners = {row["message_id"]: row["cdp_id"] for row in lakehouse.execute(CUSTOMERS, {"tenant_id": tenant_a.slug})}
    assert owners["1"] == owners["2"] == owners["3"] != owners["4"]


def test_a_late_arriving_older_trait_does_not_overwrite_a_newer_one(lakehouse, tenant_a):
    send(tenant_a.ref, [{"type": "identify", "userId": "ada", "messageId": "new", "timestamp": "2026-03-01T00:00:00Z", "traits": {"plan": "pro"}}])
    load_inbox()
    send(tenant_a.ref, [{"type": "identify", "userId": "ada", "messageId": "old", "timestamp": "2026-01-01T00:00:00Z",
                         "traits": {"plan": "free", "city": "Oslo"}}])
    load_inbox()
    cdp_id = lakehouse.execute(CUSTOMERS, {"tenant_id": tenant_a.slug}).first()["cdp_id"]
    rows = lakehouse.execute(CUSTOMER_PROFILE, {"tenant_id": tenant_a.slug, "cdp_id": cdp_id})
    traits = {r["name"]: (r["value"], r["at"]) for r in rows if r["part"] == "trait"}
    assert traits == {"plan": ("pro", datetime(2026, 3, 1, tzinfo=UTC)), "city": ("Oslo", datetime(2026, 1, 1, tzinfo=UTC))}


def test_one_loader_at_a_time(lakehouse, tenant_a):
    send(tenant_a.ref, tracks(3))
    with held_lease(LEASE, seconds=60):
        assert load_inbox().busy is True
    assert load_inbox().calls == 3


def test_tenants_data_stay_apart(lakehouse, tenant_a, tenant_b):
    send(tenant_a.ref, tracks(5))
    send(tenant_b.ref, tracks(2))
    load_inbox()
    assert lakehouse.execute(COUNT, {"tenant_id": tenant_a.slug}).first()["n"] == 5
    assert lakehouse.execute(COUNT, {"tenant_id": tenant_b.slug}).first()["n"] == 2


@pytest.mark.django_db(transaction=False)
@pytest.mark.own_database
def test_sigkill_in_the_middle_then_rerun_counts_each_message_once(tmp_path):
    """A real `manage.py cdp_load` process, killed mid-run with SIGKILL, then run again."""
    env = {**os.environ, "CDP_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "cdp_site.settings.local", "DEBUG": "false",
           "CDP_LOG_LEVEL": "WARNING"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    manage = [sys.executable, "manage.py"]
    script = (
        "import json; from tenancy.services import tenant_create; from tracking.services import ingest;"
        "t = tenant_create(slug='crash', actor='test');"
        "[ingest(tenant=t, body=json.dumps({'batch': [{'type': 'track', 'event': 'E', 'userId': f'u{i % 50}', 'messageId': f'm{b}-{i}'}"
        " for i in range(100)]}).encode()) for b in range(300)];"
        "ingest(tenant=t, body=json.dumps({'batch': [{'type': 'track', 'event': 'E', 'userId': 'u1', 'messageId': 'm0-1'}]}).encode())"
    )
    for args in (["migrate", "-v0"], ["lakehouse", "migrate"], ["shell", "-c", script]):
        subprocess.run([*manage, *args], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    loader = subprocess.Popen([*manage, "cdp_load", "--batch-size", "5", "-v0"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    loaded_some = _wait_for_partial_load(tmp_path / "cdp.sqlite3", loader)
    loader.send_signal(signal.SIGKILL)
    loader.wait(timeout=30)
    assert loaded_some, "the loader finished before it could be killed; the test proved nothing"
    rerun = subprocess.run([*manage, "cdp_load", "-v0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    counted = subprocess.run([*manage, "lakehouse", "sql", "SELECT COUNT(*) AS n, COUNT(DISTINCT message_id) AS ids FROM {events}"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert counted.stdout.splitlines()[1] == "30000\t30000", counted.stdout + counted.stderr


def _wait_for_partial_load(database: Path, process) -> bool:
    import sqlite3

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        with sqlite3.connect(database, timeout=30) as conn:
            loaded = conn.execute("SELECT COALESCE(SUM(calls), 0) FROM tracking_inboxbatch WHERE loaded_at IS NOT NULL").fetchone()[0]
        if loaded >= 2000:
            return True
        time.sleep(0.05)
    return False
