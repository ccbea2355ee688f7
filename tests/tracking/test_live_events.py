"""The live event view: while it is open, each call a tenant's SDKs send shows with its fate
(accepted, then loaded; duplicate; rejected with the reason), its payload without the write key,
filtered by type and key; nothing is recorded while nobody watches, and no tenant sees another's."""
from __future__ import annotations

import pytest

from tenancy.roles import Role
from tracking.loader import load_inbox
from tracking.models import RecentCall

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def _rows(client, **query) -> str:
    return client.get("/events/", query, headers={"HX-Request": "true"}).content.decode()


def test_calls_show_with_their_fate_while_the_view_is_open(console_as, sdk, tenant_a, tenant_b):
    sdk.post("/api/v1/batch", {"batch": [{"type": "track", "event": "Before", "userId": "u1", "messageId": "early"}]})
    assert RecentCall.objects.count() == 0, "nothing is recorded while nobody watches"
    client = console_as(Role.VIEWER)
    page = client.get("/events/").content.decode()
    assert "Live events" in page and 'hx-trigger="every 2s"' in page and "Waiting for calls" in page
    batch = {"batch": [{"type": "track", "event": "Order Completed", "userId": "u1", "messageId": "m1", "properties": {"revenue": 5}},
                       {"type": "track", "event": "", "userId": "u1", "messageId": "m2"},
                       {"type": "identify", "userId": "u1", "messageId": "early", "traits": {"plan": "pro"}}],
             "writeKey": tenant_a.write_key}
    assert sdk.post("/api/v1/batch", batch).json()["accepted"] == 1
    rows = _rows(client)
    assert "Order Completed" in rows and ">accepted<" in rows and "&quot;revenue&quot;: 5" in rows
    assert ">rejected<" in rows and "track needs an event name" in rows
    assert ">duplicate<" in rows and "already received" in rows
    assert tenant_a.write_key not in rows and "writeKey" not in rows, "write keys are never shown"
    assert "writekey:cdp_wk_" in rows, "each call says which key sent it (its public label)"
    load_inbox()
    assert ">loaded<" in _rows(client)
    only_identify = _rows(client, type="identify")
    assert "Order Completed" not in only_identify and "early" in only_identify
    assert "Order Completed" not in _rows(client, source="writekey:cdp_wk_other"), "filtered by the key that sent it"


def test_no_tenant_sees_anothers_calls(console_as, sdk, tenant_a, tenant_b):
    from tests.conftest import ApiClient

    console_as(Role.VIEWER).get("/events/")  # tenant A watches
    sdk.post("/api/v1/track", {"event": "Secret Plan", "userId": "u1"})
    b_sdk = ApiClient.for_write_key(tenant_b.write_key)
    b_sdk.post("/api/v1/track", {"event": "B Only", "userId": "u9"})
    assert set(RecentCall.objects.values_list("tenant_id", flat=True)) == {tenant_a.ref.id}, "only the watched tenant is recorded"
    rows = _rows(console_as(Role.VIEWER))
    assert "Secret Plan" in rows and "B Only" not in rows


def test_a_call_whose_batch_the_loader_set_aside_says_so(console_as, tenant_a, sdk):
    from tracking.models import InboxBatch

    client = console_as(Role.VIEWER)
    client.get("/events/")
    sdk.post("/api/v1/batch", {"batch": [{"type": "track", "event": "Doomed", "userId": "u1", "messageId": "d1"}]})
    InboxBatch.objects.filter(tenant_id=tenant_a.ref.id).update(body='{"batch": [')  # damaged: it cannot load
    load_inbox()
    rows = _rows(client)
    assert ">set aside<" in rows and "could not store its batch" in rows


def test_hostile_calls_are_recorded_as_text_and_never_fail_ingestion(console_as, sdk):
    client = console_as(Role.VIEWER)
    client.get("/events/")
    answer = sdk.post("/api/v1/batch", {"batch": [{"type": 5, "event": {"x": 1}, "userId": "u1", "messageId": ["m"]},
                                                  {"type": "track", "event": "Fine \ud83d\ude00", "userId": "u1", "messageId": "ok"}]})
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    rows = _rows(client)
    assert ">rejected<" in rows and "Fine \U0001F600" in rows
