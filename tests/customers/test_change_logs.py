"""The change logs the apps above read from a watermark: every trait write in the profile change
log, merges in identity's merge log, each in order and each once per watermark."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from customers.selectors import profile_changes_since
from identity.selectors import merges_since
from tenancy.roles import Role
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]
EPOCH = (datetime(1970, 1, 1, tzinfo=UTC), "")


def test_a_reader_sees_every_trait_write_once_from_its_watermark(tenant_a, sdk, api_as):
    api = api_as(tenant_a, Role.EDITOR)
    sdk.post("/api/v1/batch", {"batch": [{"type": "identify", "userId": "ada", "messageId": "i1", "traits": {"plan": "pro", "seats": 3}}]})
    load_inbox()
    first = profile_changes_since(tenant=tenant_a.ref)
    assert sorted((c.key, c.value, c.source) for c in first) == [("plan", "pro", "identify"), ("seats", 3, "identify")]
    watermark = (first[-1].changed_at, first[-1].change_id)
    cdp_id = first[0].cdp_id
    api.patch(f"/api/customers/{cdp_id}", {"set": {"plan": "team"}, "unset": ["seats"]})
    sdk.post("/api/v1/batch", {"batch": [{"type": "identify", "userId": "ada", "messageId": "i1", "traits": {"plan": "pro", "seats": 3}}]})
    load_inbox()  # a replayed call changes nothing and logs nothing
    after = profile_changes_since(tenant=tenant_a.ref, after=watermark)
    assert [(c.key, c.action, c.value) for c in sorted(after, key=lambda c: c.key)] == [("plan", "set", "team"), ("seats", "unset", None)]
    assert all(c.cdp_id == cdp_id and c.actor for c in after)
    assert profile_changes_since(tenant=tenant_a.ref, after=(after[-1].changed_at, after[-1].change_id)) == []


def test_a_reader_sees_each_merge_once_from_its_watermark(tenant_a, sdk):
    sdk.post("/api/v1/batch", {"batch": [
        {"type": "page", "anonymousId": "visitor", "messageId": "p1", "timestamp": "2026-01-01T10:00:00Z"},
        {"type": "identify", "userId": "grace", "messageId": "i1", "timestamp": "2026-01-02T10:00:00Z"}]})
    load_inbox()
    assert merges_since(tenant=tenant_a.ref, after=EPOCH) == []
    sdk.post("/api/v1/batch", {"batch": [{"type": "identify", "userId": "grace", "anonymousId": "visitor", "messageId": "i2",
                                          "timestamp": "2026-01-03T10:00:00Z"}]})
    load_inbox()
    merges = merges_since(tenant=tenant_a.ref, after=EPOCH)
    assert len(merges) == 1 and merges[0]["cdp_id"] != merges[0]["merged_cdp_id"]
    assert merges_since(tenant=tenant_a.ref, after=(merges[0]["merged_at"], merges[0]["merge_id"])) == []
