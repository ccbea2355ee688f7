"""Simulation: a backtest over past events says what a real run over the same events does, and
leaves nothing behind; today's audience run forward through its waits."""
from __future__ import annotations

from datetime import timedelta

import pytest

from journeys.models import Cursor, Instance, InstanceStep
from journeys.report import journey_report
from journeys.services.backtest import _on_grid
from journeys.services.journeys import journey_create, journey_publish
from journeys.services.orchestrator import orchestrator_tick
from messaging.models import Delivery
from segments.services import segment_create, segment_list_edit
from segments.types import MemberRef

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]

EVERY = timedelta(minutes=5)


def cart_journey(channel_id, template_id):
    """Keyed by cart; an order within the hour ends it, else half get an email (a split on the
    instance's hash), a quarter are held out; the goal is the cart's order within a day."""
    return {
        "entry": {"type": "event", "event": "Checkout Started", "key": "cartId"},
        "start": "wait",
        "nodes": [
            {"id": "wait", "type": "wait_event", "timeout": {"hours": 1}, "timeout_next": "split",
             "events": [{"event": "Order Completed", "match_key": True, "next": "bought"}]},
            {"id": "split", "type": "split", "ways": [{"percent": 50, "next": "email"}, {"percent": 50, "next": "quiet"}]},
            {"id": "email", "type": "send", "channel_id": channel_id, "template_id": template_id, "topic": "offers", "next": "done"},
            {"id": "bought", "type": "exit"}, {"id": "quiet", "type": "exit"}, {"id": "done", "type": "exit"},
        ],
        "goal": {"event": "Order Completed", "match_key": True, "within": {"days": 1}},
        "holdout_percent": 25,
    }


def shoppers(base):
    """Sixteen shoppers' carts over an afternoon: some order within the hour, some after the
    email would have gone, some never; one has two carts."""
    calls = []
    for i in range(16):
        user, cart, at = f"shopper{i}", f"cart{i}", base + timedelta(minutes=3 + 7 * i)
        calls.append((user, "Checkout Started", at, {"cartId": cart}))
        if i % 4 == 1:
            calls.append((user, "Order Completed", at + timedelta(minutes=20), {"cartId": cart}))
        if i % 4 == 2:
            calls.append((user, "Order Completed", at + timedelta(minutes=100), {"cartId": cart}))
    calls.append(("shopper3", "Checkout Started", base + timedelta(minutes=41), {"cartId": "cart3b"}))
    return sorted(calls, key=lambda c: c[2])


def test_a_backtest_says_what_the_real_run_over_the_same_events_did(tenant_a, admin, hook, track_many, t0):
    """The real orchestrator ticks every 5 minutes over a past afternoon, each tick after the
    calls of its 5 minutes were loaded; the backtest of the same period, over the same calls,
    reports the same per-node figures, sends, statuses and conversions, and leaves the real
    run's instances, sends and cursors as they were."""
    journey = journey_create(tenant=tenant_a.ref, name="Carts", definition=cart_journey(*hook), actor="t")
    journey_publish(tenant=tenant_a.ref, journey_id=journey.id, actor="t")
    base = _on_grid(t0 - timedelta(days=2))
    calls, end = shoppers(base), base + timedelta(hours=5)
    clock = base
    while clock <= end:
        due = [c for c in calls if clock - EVERY < c[2] <= clock]
        if due:
            track_many(due)
        orchestrator_tick(now=clock)
        clock += EVERY
    real = journey_report(tenant=tenant_a.ref, journey_id=journey.id)
    statuses = sorted(Instance.objects.filter(journey_id=journey.id).values_list("key", "status", "node"))
    instances = list(Instance.objects.filter(journey_id=journey.id).order_by("cdp_id", "key", "entered_at").values_list(
        "cdp_id", "key", "status", "node", "holdout"))
    steps, sends, cursors = InstanceStep.objects.count(), Delivery.objects.count(), sorted(Cursor.objects.values_list("source", "at"))
    assert {s for _, s, _ in statuses} >= {"completed", "converted", "holdout"} and sends > 0  # the afternoon exercises every way
    assert any(n["node"] == "quiet" and n["arrived"] for n in real["versions"][0]["nodes"])

    answer = admin.post(f"/api/journeys/{journey.id}/simulate", {"mode": "backtest", "start": base.isoformat(), "end": end.isoformat()})
    assert answer.status_code == 200, answer.content
    result = answer.json()
    assert [(i["cdp_id"], i["key"], i["status"], i["node"], i["holdout"]) for i in result["instances"]] == instances
    assert result["report"]["versions"] == real["versions"]
    assert result["report"]["goal"] == real["goal"]
    assert result["sends"] == {"email": sends}
    assert result["statuses"] == {s: sum(1 for _, t, _ in statuses if t == s) for _, s, _ in statuses}
    assert result["entered"] + result["held_out"] == len(statuses) == 17 and not result["truncated"]
    assert result["ticks"] < (end - base) / EVERY  # only the ticks at which something could happen

    assert sorted(Instance.objects.filter(journey_id=journey.id).values_list("key", "status", "node")) == statuses
    assert (InstanceStep.objects.count(), Delivery.objects.count()) == (steps, sends)
    assert sorted(Cursor.objects.values_list("source", "at")) == cursors


def test_a_backtest_before_the_journey_was_published_counts_who_would_have_entered(tenant_a, admin, hook, track_many, t0):
    """A draft tried on last week's calls: entries, a refusal (a second cart of a customer already
    in is a new instance; the same call twice is one), nothing queued and no instance left."""
    journey = journey_create(tenant=tenant_a.ref, name="Draft carts", definition=cart_journey(*hook), actor="t")
    base = _on_grid(t0 - timedelta(days=7))
    track_many(shoppers(base))
    result = admin.post(f"/api/journeys/{journey.id}/simulate", {"mode": "backtest", "start": base.isoformat(),
                                                                  "end": (base + timedelta(days=2)).isoformat()}).json()
    assert result["version"] == 1 and result["entered"] + result["held_out"] == 17
    assert result["statuses"].get("active", 0) == 0  # two days: every wait has ended
    assert not Instance.objects.exists() and not Delivery.objects.exists()


def test_simulating_todays_audience_runs_its_waits_forward(tenant_a, admin, people, hook):
    """The members of a list enter now; with no events to come, the wait times out and the
    split sends about half of those not held out an email; nothing is queued for real."""
    segment = segment_create(tenant=tenant_a.ref, name="VIPs", definition=None, kind="manual", actor="t")
    segment_list_edit(tenant=tenant_a.ref, segment_id=segment.id, add=[MemberRef(cdp_id=c) for c in people.values()], actor="t")
    journey = journey_create(tenant=tenant_a.ref, name="Carts", definition=cart_journey(*hook), actor="t")
    result = admin.post(f"/api/journeys/{journey.id}/simulate", {"mode": "audience", "segment_id": segment.id, "days": 2}).json()
    assert result["entered"] + result["held_out"] == 4
    assert result["statuses"].get("active", 0) == 0
    report = {n["node"]: n for n in result["report"]["versions"][0]["nodes"]}
    assert report["split"]["arrived"] == result["entered"]
    assert sum(result["sends"].values()) == report.get("email", {"arrived": 0})["arrived"]
    assert not Instance.objects.exists() and not Delivery.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"mode": "backtest"}, "start"),
    ({"mode": "backtest", "start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "start"),
    ({"mode": "backtest", "start": "2025-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "start"),
    ({"mode": "backtest", "start": "2026-01-01T00:00:00Z", "end": "2999-01-01T00:00:00Z"}, "end"),
    ({"mode": "audience"}, "segment_id"),
])
def test_a_simulation_that_cannot_run_says_which_field(tenant_a, admin, hook, body, field):
    journey = journey_create(tenant=tenant_a.ref, name="Carts", definition=cart_journey(*hook), actor="t")
    answer = admin.post(f"/api/journeys/{journey.id}/simulate", body)
    assert answer.status_code == 422, answer.content
    assert field in {e["field"] for e in answer.json()["errors"]}
