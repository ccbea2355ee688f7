from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from messaging.services import channels, templates, topics
from tenancy.roles import Role
from tracking.loader import load_inbox


@pytest.fixture
def admin(tenant_a, api_as):
    return api_as(tenant_a, Role.ADMIN)


@pytest.fixture
def t0() -> datetime:
    """The test's clock starts at a whole minute near now (event load times and enrolments are the
    wall clock): the minute 40 seconds from now, so a tick at t0 + 1 minute is always at least 40
    seconds after the test began. The current minute failed when the wall clock crossed into the
    next one between the fixture and an enrolment: the instance was due after the tick."""
    return (timezone.now() + timedelta(seconds=40)).replace(second=0, microsecond=0)


@pytest.fixture
def track(sdk):
    """Send track calls and load them: track(user, event, at, **properties)."""
    counter = iter(range(1, 100_000))

    def send(user: str, event: str, at: datetime, **properties):
        call = {"type": "track", "userId": user, "event": event, "properties": properties, "messageId": f"m{next(counter)}-{user}",
                "timestamp": at.isoformat().replace("+00:00", "Z")}
        assert sdk.post("/api/v1/batch", {"batch": [call]}).status_code == 200
        load_inbox()
    return send


@pytest.fixture
def track_many(sdk):
    """Send many track calls in one batch and load them: track_many([(user, event, at, properties), ...])."""
    counter = iter(range(1, 100_000))

    def send(calls):
        batch = [{"type": "track", "userId": user, "event": event, "properties": properties, "messageId": f"b{next(counter)}-{user}",
                  "timestamp": at.isoformat().replace("+00:00", "Z")} for user, event, at, properties in calls]
        assert sdk.post("/api/v1/batch", {"batch": batch}).status_code == 200
        load_inbox()
    return send


@pytest.fixture
def people(sdk, admin, t0):
    """ada and bob with emails, opted out of nothing (topic offers is opt-out), ids by user id."""
    calls = [{"type": "identify", "userId": u, "traits": {"email": f"{u}@example.com", "first_name": u.title()}, "messageId": f"i-{u}",
              "timestamp": (t0 - timedelta(days=1)).isoformat().replace("+00:00", "Z")} for u in ("ada", "bob", "cy", "dee")]
    assert sdk.post("/api/v1/batch", {"batch": calls}).status_code == 200
    load_inbox()
    return {u: admin.get(f"/api/customers/lookup?type=user_id&value={u}").json()["cdp_id"] for u in ("ada", "bob", "cy", "dee")}


@pytest.fixture
def hook(tenant_a, settings):
    """A table-export channel (no network) with a template and the opt-out topic `offers`."""
    channel = channels.channel_create(tenant=tenant_a.ref, name="Export", kind="table", config={}, actor="t")
    template = templates.template_create(tenant=tenant_a.ref, name="Reminder", channel_kind="table", actor="t",
                                         parts={"payload": '{"cart": {{ vars.key | json }}, "name": {{ customer.first_name | json }}}'})
    topics.topic_create(tenant=tenant_a.ref, key="offers", name="Offers", channel_kind="table", policy="opt_out", actor="t")
    return channel.id, template.id
