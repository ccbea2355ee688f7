"""Local-time and recurring schedules across DST, approvals, winner selection on a population with
known rates, and the report's lift against a hand computation."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.models import Campaign, Recipient, Run
from campaigns.report import campaign_report
from campaigns.selectors import delivery_key
from campaigns.services import campaigns as services
from campaigns.services.sending import campaigns_tick
from customers.services.profiles import customer_identify
from kernel.errors import Conflict, PermissionDenied
from kernel.stats import difference_interval
from messaging.models import Delivery
from tests.campaigns.conftest import CROWD, T0

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def test_a_local_time_send_reaches_each_customer_at_nine_in_their_zone_across_dst(tenant_a, launch, crowd):
    # 29 March 2026: the clocks go forward in London that morning, not in New York (8 March) or Tokyo.
    zones = {"u00": "Europe/London", "u01": "America/New_York", "u02": "Asia/Tokyo"}
    for user, zone in zones.items():
        customer_identify(tenant=tenant_a.ref, user_id=user, anonymous_id=None, email=None, traits={"timezone": zone}, actor="t")
    campaign_id = launch(schedule={"type": "local", "date": "2026-03-29", "time": "09:00"}, holdout_percent=0,
                         now=datetime(2026, 3, 27, tzinfo=UTC))
    start = Campaign.objects.get(id=campaign_id).next_run_at
    assert start == datetime(2026, 3, 28, 19, 0, tzinfo=UTC)  # 09:00 at UTC+14
    campaigns_tick(now=start)
    send_at = dict(Recipient.objects.filter(run__campaign_id=campaign_id).values_list("cdp_id", "send_at"))
    assert send_at[crowd["u00"]] == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert send_at[crowd["u01"]] == datetime(2026, 3, 29, 13, 0, tzinfo=UTC)  # 09:00 EDT
    assert send_at[crowd["u02"]] == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # 09:00 JST
    assert send_at[crowd["u03"]] == datetime(2026, 3, 29, 9, 0, tzinfo=UTC)  # no zone: the tenant's (UTC)
    campaigns_tick(now=datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    assert set(Delivery.objects.filter(source=f"campaign:{campaign_id}").values_list("cdp_id", flat=True)) == {crowd["u02"]}
    campaigns_tick(now=datetime(2026, 3, 29, 13, 0, tzinfo=UTC))
    assert Delivery.objects.filter(source=f"campaign:{campaign_id}").count() == CROWD
    assert Campaign.objects.get(id=campaign_id).status == "completed"


def test_a_recurring_campaign_sends_each_occurrence_at_its_local_hour_across_dst(tenant_a, launch):
    campaign_id = launch(schedule={"type": "cron", "cron": "0 9 * * 1", "timezone": "Europe/Paris"}, holdout_percent=0,
                         now=datetime(2026, 3, 20, tzinfo=UTC))
    first = Campaign.objects.get(id=campaign_id).next_run_at
    assert first == datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 CET
    campaigns_tick(now=first)
    row = Campaign.objects.get(id=campaign_id)
    assert (row.status, row.next_run_at) == ("scheduled", datetime(2026, 3, 30, 7, 0, tzinfo=UTC))  # 09:00 CEST
    campaigns_tick(now=row.next_run_at)
    assert list(Run.objects.filter(campaign_id=campaign_id).order_by("number").values_list("number", "phase")) == [(1, "completed"),
                                                                                                              (2, "completed")]
    assert Delivery.objects.filter(source=f"campaign:{campaign_id}").count() == 2 * CROWD


def test_a_campaign_above_the_threshold_waits_for_a_second_admin(tenant_a, definition):
    services.policy_set(tenant=tenant_a.ref, actor="boss", approval_threshold=10)
    made = services.campaign_create(tenant=tenant_a.ref, name="Big", definition=definition(), actor="ann")
    scheduled = services.campaign_schedule(tenant=tenant_a.ref, campaign_id=made.id, actor="ann", now=T0)
    assert scheduled.status == "awaiting_approval" and "more than the 10" in scheduled.status_reason
    assert campaigns_tick(now=T0)["started"] == 0
    edited = services.campaign_update(tenant=tenant_a.ref, campaign_id=made.id, actor="ann", changes={"description": "x"})
    assert edited.status == "draft"
    assert services.campaign_schedule(tenant=tenant_a.ref, campaign_id=made.id, actor="ann", now=T0).status == "awaiting_approval"
    with pytest.raises(PermissionDenied):
        services.campaign_approve(tenant=tenant_a.ref, campaign_id=made.id, actor="ann", now=T0)
    approved = services.campaign_approve(tenant=tenant_a.ref, campaign_id=made.id, actor="boss", now=T0)
    assert (approved.status, approved.approved_by) == ("scheduled", "boss")
    services.campaign_pause(tenant=tenant_a.ref, campaign_id=made.id, actor="ann")
    services.campaign_resume(tenant=tenant_a.ref, campaign_id=made.id, actor="ann")
    assert campaigns_tick(now=T0)["started"] == 1
    with pytest.raises(Conflict, match="Duplicate it"):
        services.campaign_update(tenant=tenant_a.ref, campaign_id=made.id, actor="ann", changes={"name": "Bigger"})
    copy = services.campaign_duplicate(tenant=tenant_a.ref, campaign_id=made.id, actor="ann")
    assert (copy.name, copy.status) == ("Big (copy)", "draft")


def test_the_winner_is_the_variant_with_the_better_click_rate_and_the_rest_get_it(tenant_a, launch):
    campaign_id = launch(holdout_percent=0, winner={"test_percent": 50, "wait": {"hours": 4}, "metric": "clicked"})
    campaigns_tick(now=T0)
    run = Run.objects.get(campaign_id=campaign_id)
    assert run.phase == "testing" and run.test_ends_at == T0 + timedelta(hours=4)
    tests = list(Recipient.objects.filter(run=run, test=True, seed=False))
    assert {r.status for r in tests} == {"queued"}
    waiting = Recipient.objects.filter(run=run, status="waiting").count()
    assert waiting + len(tests) == CROWD and waiting > 0
    # Known rates: everyone who got B clicked, one in three of A's did.
    for index, r in enumerate(r for r in tests if r.group == "A"):
        Delivery.objects.filter(idempotency_key=delivery_key(campaign_id, 1, r.id)).update(status="clicked" if index % 3 == 0 else "sent")
    for r in (r for r in tests if r.group == "B"):
        Delivery.objects.filter(idempotency_key=delivery_key(campaign_id, 1, r.id)).update(status="clicked")
    campaigns_tick(now=T0 + timedelta(hours=3))
    assert Run.objects.get(id=run.id).phase == "testing"
    campaigns_tick(now=T0 + timedelta(hours=4))
    run.refresh_from_db()
    assert run.winner == "B" and run.decision["metric"] == "clicked" and "tie goes to the variant listed first" in run.decision["rule"]
    figures = {v["variant"]: v for v in run.decision["variants"]}
    assert figures["B"]["rate"] == 1.0 and figures["A"]["rate"] < 0.5
    rest = Counter(Recipient.objects.filter(run=run, test=False, seed=False).values_list("group", "status"))
    assert rest == {("B", "queued"): waiting}
    assert Campaign.objects.get(id=campaign_id).status == "completed"


def test_the_report_gives_each_variant_its_lift_over_the_holdout_with_newcombes_interval(tenant_a, launch, track_goal):
    now = datetime.now(UTC).replace(microsecond=0)  # events are loaded on the wall clock
    campaign_id = launch(holdout_percent=30, goal={"event": "Order Completed", "within": {"days": 3}}, now=now)
    campaigns_tick(now=now)
    rows = list(Recipient.objects.filter(run__campaign_id=campaign_id).values_list("cdp_id", "group"))
    groups = Counter(g for _, g in rows)
    # Converters: every other recipient of A, none of B, one of the holdout.
    a = [c for c, g in rows if g == "A"][::2]
    holdout = [c for c, g in rows if g == "holdout"][:1]
    track_goal([*a, *holdout], now)  # at the send (the window includes its start)
    report = campaign_report(tenant=tenant_a.ref, campaign_id=campaign_id)
    by = {g["group"]: g for g in report["groups"]}
    assert by["A"]["converted"] == len(a) and by["B"]["converted"] == 0 and by["holdout"]["converted"] == 1
    expected = difference_interval(len(a), groups["A"], 1, groups["holdout"])
    assert by["A"]["lift"] == pytest.approx(len(a) / groups["A"] - 1 / groups["holdout"])
    assert by["A"]["interval"] == pytest.approx(list(expected))
    assert by["A"]["interval"][0] < by["A"]["lift"] < by["A"]["interval"][1]
    assert "Newcombe" in report["method"]
