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


def simulated(admin, journey_id, body) -> dict:
    """Ask for a simulation (202, run by the task, inline in tests) and read its result back."""
    answer = admin.post(f"/api/journeys/{journey_id}/simulate", body)
    assert answer.status_code == 202, answer.content
    kept = admin.get(f"/api/journeys/{journey_id}/simulations/{answer.json()['id']}").json()
    assert kept["state"] == "succeeded", kept["error"]
    assert admin.get(f"/api/journeys/{journey_id}/simulations").json()[0]["id"] == kept["id"]
    return kept["result"]


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

    result = simulated(admin, journey.id, {"mode": "backtest", "start": base.isoformat(), "end": end.isoformat()})
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
    result = simulated(admin, journey.id, {"mode": "backtest", "start": base.isoformat(), "end": (base + timedelta(days=2)).isoformat()})
    assert result["version"] == 1 and result["entered"] + result["held_out"] == 17
    assert result["statuses"].get("active", 0) == 0  # two days: every wait has ended
    assert not Instance.objects.exists() and not Delivery.objects.exists()


def test_simulating_todays_audience_runs_its_waits_forward(tenant_a, admin, people, hook):
    """The members of a list enter now; with no events to come, the wait times out and the
    split sends about half of those not held out an email; nothing is queued for real."""
    segment = segment_create(tenant=tenant_a.ref, name="VIPs", definition=None, kind="manual", actor="t")
    segment_list_edit(tenant=tenant_a.ref, segment_id=segment.id, add=[MemberRef(cdp_id=c) for c in people.values()], actor="t")
    journey = journey_create(tenant=tenant_a.ref, name="Carts", definition=cart_journey(*hook), actor="t")
    result = simulated(admin, journey.id, {"mode": "audience", "segment_id": segment.id, "days": 2})
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


def test_a_queued_simulation_waits_for_a_running_tick_then_runs(tenant_a, hook, settings):
    """A worker that finds the orchestrator's lease held polls (an injected clock, no sleeping)
    until the tick ends; one that waits past LEASE_WAIT records why it did not run."""
    from journeys.services.orchestrator import LEASE
    from journeys.services.simulations import LEASE_WAIT, simulation_execute, simulation_queue
    from operations.leases import lease_acquire, lease_release

    settings.CDP_TASKS_INLINE = False  # queued, as for a worker
    journey = journey_create(tenant=tenant_a.ref, name="Carts", definition=cart_journey(*hook), actor="t")
    now = [0.0]
    token = lease_acquire(LEASE, seconds=600)

    def tick_ends_after_three_polls(seconds):
        now[0] += seconds
        if now[0] >= 3 * seconds:
            lease_release(LEASE, token)

    first = simulation_queue(tenant=tenant_a.ref, journey_id=journey.id, actor="t", mode="backtest",
                             start=_on_grid(journey.created_at - timedelta(days=1)))
    assert first.state == "queued"
    ran = simulation_execute(first.id, sleep=tick_ends_after_three_polls, clock=lambda: now[0])
    assert ran.state == "succeeded" and ran.result["ticks"] >= 1 and now[0] > 0

    held = lease_acquire(LEASE, seconds=600)
    second = simulation_queue(tenant=tenant_a.ref, journey_id=journey.id, actor="t", mode="backtest",
                              start=_on_grid(journey.created_at - timedelta(days=1)))

    def waits(seconds):
        now[0] += seconds

    failed = simulation_execute(second.id, sleep=waits, clock=lambda: now[0])
    assert failed.state == "failed" and f"waited {LEASE_WAIT:.0f} s" in failed.error and failed.result is None
    lease_release(LEASE, held)
    assert simulation_execute(second.id) is None  # run once: a second worker finds nothing queued
