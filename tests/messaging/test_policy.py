"""Frequency caps and quiet hours, decided at send time: caps shared by every sender of marketing
messages, quiet hours in the customer's own time zone (or the tenant's), deferred to the end of
the window or dropped; transactional messages exempt."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from messaging import selectors
from messaging.services import channels, outbox, policies, templates, topics
from messaging.services.drain import drain_once
from messaging.types import SendRequest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]
MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def hook(tenant_a, receiver, shoppers):
    channel = channels.channel_create(tenant=tenant_a.ref, name="h", kind="webhook", config={"url": f"{receiver.url}/h"}, actor="t")
    template = templates.template_create(tenant=tenant_a.ref, name="t", channel_kind="webhook", parts={"body": "{}"}, actor="t")
    topics.topic_create(tenant=tenant_a.ref, key="offers", name="Offers", channel_kind="webhook", policy="opt_out", actor="t")
    return channel, template


def _send(tenant_a, hook, cdp_id, key, at, category="marketing"):
    channel, template = hook
    return outbox.delivery_enqueue(tenant=tenant_a.ref, now=at, request=SendRequest(
        key=key, channel_id=channel.id, template_id=template.id, cdp_id=cdp_id, category=category,
        topic="offers" if category == "marketing" else ""))[0]


def _row(tenant_a, info):
    return selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id)


def test_a_cap_counts_marketing_sent_in_the_window(tenant_a, hook, shoppers, receiver):
    policies.policy_set(tenant=tenant_a.ref, actor="t", caps=[{"channel_kind": "webhook", "max": 2, "days": 7}], quiet_days=[],
                        quiet_start=None, quiet_end=None)
    sent = []
    for n in range(3):
        at = MONDAY_NOON + timedelta(days=n)
        sent.append(_send(tenant_a, hook, shoppers["ada"], f"m{n}", at))
        drain_once(now=at)
    assert [_row(tenant_a, s).status for s in sent] == ["sent", "sent", "skipped"]
    assert _row(tenant_a, sent[2]).reason == "capped: 2 marketing webhook messages in 7 days (at most 2)"
    receipt = _send(tenant_a, hook, shoppers["ada"], "r", MONDAY_NOON + timedelta(days=2), category="transactional")
    drain_once(now=MONDAY_NOON + timedelta(days=2))
    assert _row(tenant_a, receipt).status == "sent"  # transactional: not capped, not counted
    later = MONDAY_NOON + timedelta(days=8)  # the first has left the window
    again = _send(tenant_a, hook, shoppers["ada"], "m9", later)
    drain_once(now=later)
    assert _row(tenant_a, again).status == "sent"


def test_a_cap_holds_for_one_customers_messages_drained_in_one_pass(tenant_a, hook, shoppers, receiver):
    """Three messages to one customer due at once, a cap of two: the second waits for the first's
    outcome instead of being checked while the first is still on its way."""
    policies.policy_set(tenant=tenant_a.ref, actor="t", caps=[{"channel_kind": "webhook", "max": 2, "days": 7}], quiet_days=[],
                        quiet_start=None, quiet_end=None)
    sent = [_send(tenant_a, hook, shoppers["ada"], f"m{n}", MONDAY_NOON) for n in range(3)]
    for seconds in (0, 2, 4):  # the drain's next passes (each message waits a second for the one before it)
        drain_once(now=MONDAY_NOON + timedelta(seconds=seconds))
    assert [_row(tenant_a, s).status for s in sent] == ["sent", "sent", "skipped"]
    assert _row(tenant_a, sent[2]).reason.startswith("capped: 2 marketing webhook messages")
    assert len(receiver.received) == 2


def test_quiet_hours_defer_in_the_customers_time_zone(tenant_a, hook, shoppers, admin, sdk):
    from tracking.loader import load_inbox

    # Ada lives in Tokyo (UTC+9); Bob has no zone: the tenant's (UTC).
    assert sdk.post("/api/v1/identify", {"userId": "ada", "traits": {"timezone": "Asia/Tokyo"}, "messageId": "tz"}).status_code == 200
    load_inbox()
    policies.policy_set(tenant=tenant_a.ref, actor="t", caps=[], quiet_days=[0, 1, 2, 3, 4, 5, 6], quiet_start="21:00", quiet_end="08:00")
    at = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)  # 22:30 in Tokyo, 13:30 in UTC
    ada, bob = _send(tenant_a, hook, shoppers["ada"], "a", at), _send(tenant_a, hook, shoppers["bob"], "b", at)
    receipt = _send(tenant_a, hook, shoppers["ada"], "r", at, category="transactional")
    drain_once(now=at)
    deferred = _row(tenant_a, ada)
    assert deferred.status == "deferred" and deferred.reason == "quiet hours until 08:00 Asia/Tokyo" and deferred.attempts == 0
    assert deferred.next_attempt_at == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 08:00 the next morning in Tokyo
    assert _row(tenant_a, bob).status == "sent" and _row(tenant_a, receipt).status == "sent"
    assert drain_once(now=datetime(2026, 11, 23, 22, 59, tzinfo=UTC)) == {}
    drain_once(now=datetime(2026, 11, 23, 23, 0, tzinfo=UTC))
    assert _row(tenant_a, ada).status == "sent"


def test_quiet_days_and_drop(tenant_a, hook, shoppers):
    policies.policy_set(tenant=tenant_a.ref, actor="t", caps=[], quiet_days=[5, 6], quiet_start="00:00", quiet_end="23:59",
                        quiet_policy="drop")
    saturday, monday = datetime(2026, 11, 28, 10, 0, tzinfo=UTC), datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    weekend, weekday = _send(tenant_a, hook, shoppers["bob"], "w", saturday), _send(tenant_a, hook, shoppers["bob"], "d", monday)
    drain_once(now=saturday)
    assert (_row(tenant_a, weekend).status, _row(tenant_a, weekend).reason) == ("skipped", "quiet hours (UTC)")
    drain_once(now=monday)
    assert _row(tenant_a, weekday).status == "sent"


def test_the_policy_api_checks_what_it_is_given(admin):
    bad = admin.put("/api/messaging/policy", {"quiet_days": [1], "quiet_start": "21:00"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "quiet_start"
    good = admin.put("/api/messaging/policy", {"caps": [{"channel_kind": "email", "max": 3, "days": 7}], "quiet_days": [0, 4],
                                               "quiet_start": "21:00", "quiet_end": "08:00"})
    assert good.status_code == 200 and good.json()["quiet_start"] == "21:00"
    assert admin.get("/api/messaging/policy").json()["caps"] == [{"channel_kind": "email", "max": 3, "days": 7.0}]
