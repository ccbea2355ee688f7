"""The real Segment and RudderStack Python SDKs, pointed at a live server, deliver each call once."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from customers.sql import EVENT_COUNTS
from lakehouse import get_engine
from tests.tracking.helpers import inbox_calls
from tracking.loader import load_inbox

pytestmark = pytest.mark.django_db(transaction=True)


def _send(client, errors):
    client.identify("user-1", {"email": "Ada@Example.com", "plan": "pro"})
    client.track("user-1", "Order Completed", {"revenue": 42.5})
    client.page("user-1", category="Docs", name="Install")
    client.group("user-1", "acme-inc", {"name": "Acme"})
    client.alias("anon-7", "user-1")
    client.flush()
    assert errors == []


def test_segment_sdk(live_server, tenant_a, tenant_b):
    from segment.analytics import Client

    errors = []
    client = Client(tenant_a.write_key, host=live_server.url + "/api", sync_mode=True, on_error=lambda e, batch: errors.append(e), max_retries=0)
    _send(client, errors)
    assert sorted(call["type"] for call in inbox_calls(tenant_a.ref.id)) == ["alias", "group", "identify", "page", "track"]
    assert inbox_calls(tenant_b.ref.id) == []


def test_rudderstack_sdk_gzip_and_replay(live_server, tenant_a):
    from rudderstack.analytics.client import Client

    errors = []
    client = Client(tenant_a.write_key, host=live_server.url + "/api", sync_mode=True, gzip=True,
                    on_error=lambda e, batch: errors.append(e), max_retries=0)
    _send(client, errors)
    ids = [call["messageId"] for call in inbox_calls(tenant_a.ref.id)]
    assert len(ids) == 5
    # A client that retries a batch it thinks failed sends the same messageIds again.
    client.track("user-1", "Order Completed", {"revenue": 1}, message_id=ids[1])
    client.flush()
    assert len(inbox_calls(tenant_a.ref.id)) == 5

    call_command("lakehouse", "migrate", verbosity=0, stdout=open("/dev/null", "w"))
    load_inbox()
    counts = get_engine().execute(EVENT_COUNTS, {"tenant_id": tenant_a.slug, "since": datetime(2000, 1, 1, tzinfo=UTC)})
    assert sum(row["events"] for row in counts) == 5
