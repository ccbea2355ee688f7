from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaigns.services import campaigns as services
from messaging.services import channels, templates, topics
from segments.services import segment_create, segment_refresh
from tenancy.roles import Role
from tracking.loader import load_inbox

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
CROWD = 40


@pytest.fixture
def admin(tenant_a, api_as):
    return api_as(tenant_a, Role.ADMIN)


@pytest.fixture
def crowd(sdk, admin, tenant_a):
    """40 customers with emails (u00@example.com ...), in the segment "With email", and a guest without; returns
    {user id: cdp_id} and the segment's id as crowd["segment"]."""
    calls = [{"type": "identify", "userId": f"u{i:02}", "traits": {"email": f"u{i:02}@example.com", "first_name": f"U{i:02}"},
              "messageId": f"i-{i}", "timestamp": "2026-11-01T10:00:00Z"} for i in range(CROWD)]
    guest = {"type": "identify", "userId": "guest", "traits": {"first_name": "Guest"}, "messageId": "i-guest",
             "timestamp": "2026-11-01T10:00:00Z"}  # no email: outside the segment, so it is not every customer
    assert sdk.post("/api/v1/batch", {"batch": [*calls, guest]}).status_code == 200
    load_inbox()
    segment = segment_create(tenant=tenant_a.ref, name="With email", definition={"type": "trait", "key": "email", "op": "exists"}, actor="t")
    segment_refresh(tenant=tenant_a.ref, segment_id=segment.id, trigger="test")
    people = {u["userId"]: admin.get(f"/api/customers/lookup?type=user_id&value={u['userId']}").json()["cdp_id"] for u in calls}
    return {**people, "segment": segment.id}


@pytest.fixture
def mail(tenant_a, smtp_server):
    """An SMTP channel (to the loopback server), templates A and B, and the opt-out topic news."""
    channel = channels.channel_create(tenant=tenant_a.ref, name="News mail", kind="email", actor="t", secret="",
                                      config={"backend": "smtp", "host": "127.0.0.1", "port": smtp_server.port, "security": "none",
                                              "from_email": "Shop <news@shop.example.com>"})
    a = templates.template_create(tenant=tenant_a.ref, name="Subject A", channel_kind="email", actor="t",
                                  parts={"subject": "A for {{ customer.first_name }}", "html": "<p>A {{ vars.variant }}</p>"})
    b = templates.template_create(tenant=tenant_a.ref, name="Subject B", channel_kind="email", actor="t",
                                  parts={"subject": "B for {{ customer.first_name }}", "html": "<p>B {{ vars.variant }}</p>"})
    topics.topic_create(tenant=tenant_a.ref, key="news", name="News", channel_kind="email", policy="opt_out", actor="t")
    return {"channel": channel.id, "A": a.id, "B": b.id}


@pytest.fixture
def definition(crowd, mail):
    def make(**changes) -> dict:
        base = {"audience": {"segments": [crowd["segment"]]}, "channel_id": mail["channel"], "category": "marketing", "topic": "news",
                "variants": [{"key": "A", "template_id": mail["A"]}, {"key": "B", "template_id": mail["B"]}], "holdout_percent": 10}
        return {**base, **changes}
    return make


@pytest.fixture
def launch(tenant_a, definition):
    """Create and schedule a campaign: launch(name="...", now=T0, **definition changes) -> id."""
    def make(name: str = "Newsletter", now: datetime = T0, **changes) -> int:
        made = services.campaign_create(tenant=tenant_a.ref, name=name, definition=definition(**changes), actor="ann")
        services.campaign_schedule(tenant=tenant_a.ref, campaign_id=made.id, actor="ann", now=now)
        return made.id
    return make


@pytest.fixture
def track_goal(sdk, crowd):
    """track_goal(cdp_ids, at): an "Order Completed" of each of these crowd customers, loaded."""
    users = {v: k for k, v in crowd.items() if k != "segment"}

    def send(cdp_ids, at: datetime):
        batch = [{"type": "track", "userId": users[c], "event": "Order Completed", "messageId": f"goal-{c}",
                  "timestamp": at.isoformat().replace("+00:00", "Z")} for c in cdp_ids]
        assert sdk.post("/api/v1/batch", {"batch": batch}).status_code == 200
        load_inbox()
    return send
