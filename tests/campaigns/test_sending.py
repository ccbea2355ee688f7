"""Sending: the snapshot's groups, one message a recipient and address, throttle, lateness, pause,
resume, cancel, seeds and the global control group, all on an injected clock."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from campaigns.models import Campaign, Recipient, Run
from campaigns.services import campaigns as services
from campaigns.services.sending import campaigns_tick
from messaging.models import Delivery
from messaging.services.drain import drain_once
from messaging.services.policies import policy_set
from segments.services import segment_refresh
from tests.campaigns.conftest import CROWD, T0
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def _groups(campaign_id: int) -> Counter:
    return Counter(Recipient.objects.filter(run__campaign_id=campaign_id, seed=False).values_list("group", flat=True))


def test_a_send_queues_each_reachable_recipient_once_and_the_holdout_nothing(tenant_a, launch, crowd):
    campaign_id = launch()
    counts = campaigns_tick(now=T0)
    assert counts["started"] == 1
    groups = _groups(campaign_id)
    assert sum(groups.values()) == CROWD
    assert 1 <= groups["holdout"] <= 10 and groups["A"] and groups["B"]
    deliveries = Delivery.objects.filter(source=f"campaign:{campaign_id}")
    assert deliveries.count() == groups["A"] + groups["B"]
    held_out = set(Recipient.objects.filter(run__campaign_id=campaign_id, group="holdout").values_list("cdp_id", flat=True))
    assert not deliveries.filter(cdp_id__in=held_out).exists()
    assert campaigns_tick(now=T0 + timedelta(minutes=1))["queued"] == 0  # nothing twice
    assert deliveries.count() == groups["A"] + groups["B"]
    assert Campaign.objects.get(id=campaign_id).status == "completed"
    # The same customers are held out on a second campaign's every send only if it is the same campaign:
    assert len(set(deliveries.values_list("idempotency_key", flat=True))) == deliveries.count()


def test_the_holdout_and_variants_are_stable_for_a_campaign(tenant_a, launch):
    campaign_id = launch()
    campaigns_tick(now=T0)
    first = dict(Recipient.objects.filter(run__campaign_id=campaign_id).values_list("cdp_id", "group"))
    again = services.campaign_preview(tenant=tenant_a.ref, definition=Campaign.objects.get(id=campaign_id).definition,
                                      campaign_id=campaign_id, now=T0)
    assert again["reach"]["holdout"] == Counter(first.values())["holdout"]
    assert again["reach"]["variants"] == {k: v for k, v in Counter(first.values()).items() if k in ("A", "B")}


def test_the_throttle_queues_at_most_its_rate_each_minute(tenant_a, launch):
    campaign_id = launch(throttle_per_minute=7, holdout_percent=0)
    per_minute = []
    for minute in range(8):
        per_minute.append(campaigns_tick(now=T0 + timedelta(minutes=minute, seconds=30))["queued"])
    assert per_minute[:5] == [7, 7, 7, 7, 7] and sum(per_minute) == CROWD
    assert Campaign.objects.get(id=campaign_id).status == "completed"
    queued_at = Counter(Recipient.objects.filter(run__campaign_id=campaign_id).values_list("queued_at", flat=True))
    assert max(queued_at.values()) == 7


def test_sends_held_past_the_maximum_lateness_are_dropped_and_reported(tenant_a, launch):
    campaign_id = launch(throttle_per_minute=10, holdout_percent=0, max_lateness={"minutes": 2})
    for minute in range(5):
        campaigns_tick(now=T0 + timedelta(minutes=minute))
    statuses = Counter(Recipient.objects.filter(run__campaign_id=campaign_id).values_list("status", flat=True))
    assert statuses == {"queued": 30, "late": 10}  # minutes 0, 1 and 2 queue 10 each; then the rest are late
    expires = set(Delivery.objects.filter(source=f"campaign:{campaign_id}").values_list("expires_at", flat=True))
    assert expires == {T0 + timedelta(minutes=2)}  # the outbox drops what quiet hours would hold past it


def test_pause_holds_what_was_queued_and_resume_and_cancel_lose_and_duplicate_nothing(tenant_a, launch, smtp_server):
    campaign_id = launch(throttle_per_minute=10, holdout_percent=0)
    campaigns_tick(now=T0)
    services.campaign_pause(tenant=tenant_a.ref, campaign_id=campaign_id, actor="ann")
    assert Delivery.objects.filter(source=f"campaign:{campaign_id}", status="held").count() == 10
    drain_once(now=T0 + timedelta(seconds=10))
    assert smtp_server.inbox.messages == []
    assert campaigns_tick(now=T0 + timedelta(minutes=1))["queued"] == 0  # paused: nothing more
    services.campaign_resume(tenant=tenant_a.ref, campaign_id=campaign_id, actor="ann")
    campaigns_tick(now=T0 + timedelta(minutes=2))
    drain_once(now=T0 + timedelta(minutes=2, seconds=10))
    assert len(smtp_server.inbox.messages) == 20
    services.campaign_cancel(tenant=tenant_a.ref, campaign_id=campaign_id, actor="ann")
    assert campaigns_tick(now=T0 + timedelta(minutes=3))["queued"] == 0
    statuses = Counter(Recipient.objects.filter(run__campaign_id=campaign_id).values_list("status", flat=True))
    assert statuses == {"queued": 20, "cancelled": 20}
    recipients = [m["To"] for m in smtp_server.inbox.messages]
    assert len(recipients) == len(set(recipients)) == 20
    assert Run.objects.get(campaign_id=campaign_id).phase == "cancelled"


def test_seeds_get_every_variant_outside_consent_and_the_control_group_gets_nothing(tenant_a, launch, smtp_server):
    policy_set(tenant=tenant_a.ref, actor="t", caps=[], quiet_days=[], quiet_start=None, quiet_end=None, control_percent=20)
    campaign_id = launch(seeds=["qa@shop.example.com"])
    campaigns_tick(now=T0)
    seeds = Recipient.objects.filter(run__campaign_id=campaign_id, seed=True)
    assert sorted(seeds.values_list("group", flat=True)) == ["A", "B"]
    control = set(Recipient.objects.filter(run__campaign_id=campaign_id, group="control").values_list("cdp_id", flat=True))
    assert control
    assert not Delivery.objects.filter(cdp_id__in=control).exists()
    drain_once(now=T0 + timedelta(seconds=5))
    to = Counter(m["To"] for m in smtp_server.inbox.messages)
    assert to["qa@shop.example.com"] == 2
    assert sorted(m["Subject"] for m in smtp_server.inbox.messages if m["To"] == "qa@shop.example.com") == ["A for", "B for"]


def test_the_control_group_is_refused_marketing_from_any_sender(tenant_a, crowd, mail):
    from messaging.services.outbox import delivery_enqueue
    from messaging.types import SendRequest

    policy_set(tenant=tenant_a.ref, actor="t", caps=[], quiet_days=[], quiet_start=None, quiet_end=None, control_percent=50)
    from messaging.selectors import control_group

    members = control_group(tenant=tenant_a.ref, cdp_ids=[crowd[f"u{i:02}"] for i in range(CROWD)])
    assert 5 < len(members) < 35
    one = sorted(members)[0]
    info, _ = delivery_enqueue(tenant=tenant_a.ref, request=SendRequest(key="journey-like", channel_id=mail["channel"],
                                                                        template_id=mail["A"], cdp_id=one, topic="news", source="journey:1"))
    drain_once(now=T0)
    row = Delivery.objects.get(id=info.id)
    assert (row.status, row.reason) == ("skipped", "in the global control group (no marketing messages)")


def test_customers_sharing_an_address_get_one_message(tenant_a, launch, crowd, sdk, admin):
    # Twins: a second customer (their own user id) whose email trait is u00's address, in another case.
    call = {"type": "identify", "userId": "twin", "traits": {"email": "U00@Example.com"}, "messageId": "twin", "timestamp": "2026-11-01T10:00:00Z"}
    assert sdk.post("/api/v1/batch", {"batch": [call]}).status_code == 200
    load_inbox()
    twin = admin.get("/api/customers/lookup?type=user_id&value=twin").json()["cdp_id"]
    assert twin != crowd["u00"]
    segment_refresh(tenant=tenant_a.ref, segment_id=crowd["segment"], trigger="test")
    campaign_id = launch(holdout_percent=0)
    campaigns_tick(now=T0)
    groups = dict(Recipient.objects.filter(run__campaign_id=campaign_id, cdp_id__in=[twin, crowd["u00"]]).values_list("cdp_id", "group"))
    assert len(groups) == 2 and list(groups.values()).count("duplicate") == 1
    addresses = Counter(Delivery.objects.filter(source=f"campaign:{campaign_id}").values_list("address", flat=True))
    assert addresses["u00@example.com"] == 1 and max(addresses.values()) == 1


def test_quiet_hours_hold_recipients_in_the_snapshot_so_the_throttle_paces_real_sends(tenant_a, launch, crowd, sdk):
    """Queued into quiet hours, a throttled send would wait in the outbox and leave in one burst when
    they end: the pump keeps each zone's recipients until its quiet hours are over instead."""
    tokyo = [crowd[f"u{i:02}"] for i in range(10)]
    calls = [{"type": "identify", "userId": f"u{i:02}", "traits": {"timezone": "Asia/Tokyo"}, "messageId": f"tz-{i}",
              "timestamp": "2026-11-02T10:00:00Z"} for i in range(10)]
    assert sdk.post("/api/v1/batch", {"batch": calls}).status_code == 200
    load_inbox()
    policy_set(tenant=tenant_a.ref, actor="t", caps=[], quiet_days=list(range(7)), quiet_start="21:00", quiet_end="08:00")
    late_evening = T0.replace(hour=23, minute=30) - timedelta(days=1)  # 23:30 in UTC (the tenant's zone), 08:30 in Tokyo
    campaign_id = launch(now=late_evening, throttle_per_minute=6, holdout_percent=0)
    assert campaigns_tick(now=late_evening)["queued"] == 6
    assert set(Delivery.objects.filter(source=f"campaign:{campaign_id}").values_list("cdp_id", flat=True)) <= set(tokyo)
    assert campaigns_tick(now=late_evening + timedelta(minutes=1))["queued"] == 4  # the rest of Tokyo; UTC is asleep
    assert campaigns_tick(now=late_evening + timedelta(minutes=2))["queued"] == 0
    assert Campaign.objects.get(id=campaign_id).status == "running"  # still to send, not completed
    morning = T0  # 08:00 UTC: quiet hours over, the throttle paces what was held
    per_minute = [campaigns_tick(now=morning + timedelta(minutes=m))["queued"] for m in range(6)]
    assert per_minute == [6, 6, 6, 6, 6, 0] and Recipient.objects.filter(run__campaign_id=campaign_id, status="pending").count() == 0
    assert drain_once(now=morning + timedelta(minutes=6)).get("deferred", 0) == 0  # nothing queued into quiet hours
