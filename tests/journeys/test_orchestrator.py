"""The orchestrator on an injected clock: entries, keyed instances, waits for events with
timeouts, sends queued once, goals, exits, holdouts, re-entry and limits."""
from __future__ import annotations

from datetime import timedelta

import pytest

from journeys.models import Instance, InstanceStep, Tick
from journeys.services.journeys import journey_create, journey_publish, journey_set_status
from journeys.services.orchestrator import orchestrator_tick
from messaging.models import Delivery

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def cart_journey(channel_id, template_id, **settings):
    return {
        "entry": {"type": "event", "event": "Checkout Started", "key": "cartId"},
        "start": "wait",
        "nodes": [
            {"id": "wait", "type": "wait_event", "timeout": {"hours": 4}, "timeout_next": "email",
             "events": [{"event": "Order Completed", "match_key": True, "next": "bought"}]},
            {"id": "email", "type": "send", "channel_id": channel_id, "template_id": template_id, "topic": "offers", "next": "done"},
            {"id": "bought", "type": "exit"},
            {"id": "done", "type": "exit"},
        ],
        "holdout_percent": 0,
        **settings,
    }


def publish(tenant_a, definition, name="Abandoned cart"):
    journey = journey_create(tenant=tenant_a.ref, name=name, definition=definition, actor="t")
    return journey_publish(tenant=tenant_a.ref, journey_id=journey.id, actor="t")


def where(cdp_id, key=""):
    row = Instance.objects.get(cdp_id=cdp_id, key=key)
    return row.node, row.status


def test_two_carts_of_one_customer_advance_independently(tenant_a, people, hook, track, t0):
    """Entry keyed by cartId: one instance a cart; the order of cart A ends A only; B times out
    after 4 hours and gets its email, carrying B's key, once however often the tick runs."""
    journey = publish(tenant_a, cart_journey(*hook))
    ada = people["ada"]
    track("ada", "Checkout Started", t0, cartId="A")
    track("ada", "Checkout Started", t0 + timedelta(minutes=1), cartId="B")
    orchestrator_tick(now=t0 + timedelta(minutes=2))
    assert where(ada, "A") == ("wait", "active") and where(ada, "B") == ("wait", "active")

    track("ada", "Order Completed", t0 + timedelta(minutes=30), cartId="A")
    orchestrator_tick(now=t0 + timedelta(minutes=35))
    assert where(ada, "A") == ("bought", "completed") and where(ada, "B") == ("wait", "active")
    assert not Delivery.objects.exists()

    for _ in range(2):  # a tick run twice at the same clock changes nothing more
        orchestrator_tick(now=t0 + timedelta(hours=4, minutes=5))
    assert where(ada, "B") == ("done", "completed")
    sent = Delivery.objects.get()
    assert sent.cdp_id == ada and sent.variables["key"] == "B" and sent.source == f"journey:{journey.id}"
    b = Instance.objects.get(key="B")
    assert sent.idempotency_key == f"journey:{journey.id}.1:{b.instance_id}:email:2"
    assert [(s.node, s.way, s.to_node) for s in b.steps.all()] == [("", "entry", "wait"), ("wait", "timeout", "email"),
                                                                   ("email", "next", "done"), ("done", "exit", "")]


def test_an_event_before_the_wait_began_does_not_resume_it(tenant_a, people, hook, track, t0):
    publish(tenant_a, cart_journey(*hook))
    track("bob", "Order Completed", t0 - timedelta(hours=1), cartId="C")  # an old order of the same cart id
    track("bob", "Checkout Started", t0, cartId="C")
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    assert where(people["bob"], "C") == ("wait", "active")


def test_an_unkeyed_order_does_not_resume_a_keyed_wait(tenant_a, people, hook, track, t0):
    publish(tenant_a, cart_journey(*hook))
    track("bob", "Checkout Started", t0, cartId="C")
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    track("bob", "Order Completed", t0 + timedelta(minutes=2), cartId="other")
    track("bob", "Order Completed", t0 + timedelta(minutes=3))
    orchestrator_tick(now=t0 + timedelta(minutes=5))
    assert where(people["bob"], "C") == ("wait", "active")


SHOPPERS = [f"s{n}" for n in range(24)]  # enough that a 50% holdout has both groups (all one way: 2 in 16 million)


def test_the_goal_converts_and_is_recorded_for_the_holdout_too(tenant_a, hook, track_many, t0):
    """A goal (the cart's order within 3 days) ends instances as converted; holdouts, set aside
    at entry by a hash of the customer, receive nothing but convert too."""
    definition = cart_journey(*hook, goal={"event": "Order Completed", "match_key": True, "within": {"days": 3}}, holdout_percent=50)
    publish(tenant_a, definition)
    track_many([(u, "Checkout Started", t0, {"cartId": f"k{n}"}) for n, u in enumerate(SHOPPERS)])
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    assert set(Instance.objects.values_list("status", flat=True)) == {"active", "holdout"}
    track_many([(u, "Order Completed", t0 + timedelta(hours=1), {"cartId": f"k{n}"}) for n, u in enumerate(SHOPPERS)])
    orchestrator_tick(now=t0 + timedelta(hours=1, minutes=5))
    assert set(Instance.objects.values_list("status", flat=True)) == {"converted"}
    assert Instance.objects.filter(holdout=True).exists() and Instance.objects.filter(holdout=False).exists()
    orchestrator_tick(now=t0 + timedelta(days=1))
    assert not Delivery.objects.exists()


def test_holdouts_never_receive(tenant_a, hook, track_many, t0):
    publish(tenant_a, cart_journey(*hook, holdout_percent=50))
    track_many([(u, "Checkout Started", t0, {"cartId": f"k{n}"}) for n, u in enumerate(SHOPPERS)])
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    orchestrator_tick(now=t0 + timedelta(hours=5))
    held = set(Instance.objects.filter(status="holdout").values_list("cdp_id", flat=True))
    assert held and not Delivery.objects.filter(cdp_id__in=held).exists()
    assert Delivery.objects.count() == len(SHOPPERS) - len(held) > 0


def test_reentry_once_per_key_and_duplicate_reads_enrol_nobody_twice(tenant_a, people, hook, track, t0):
    publish(tenant_a, cart_journey(*hook))
    track("ada", "Checkout Started", t0, cartId="A")
    track("ada", "Checkout Started", t0 + timedelta(seconds=5), cartId="A")  # the same cart again while in
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    orchestrator_tick(now=t0 + timedelta(minutes=2))  # the overlap reads the same calls again
    assert Instance.objects.count() == 1
    counts = Tick.objects.order_by("id").first().counts
    assert counts["enrolled"] == 1 and counts["already_in"] == 1


def test_exit_events_end_instances(tenant_a, people, hook, track, t0):
    publish(tenant_a, cart_journey(*hook, exit={"events": [{"event": "Unsubscribed All"}]}))
    track("ada", "Checkout Started", t0, cartId="A")
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    track("ada", "Unsubscribed All", t0 + timedelta(minutes=2))
    orchestrator_tick(now=t0 + timedelta(minutes=3))
    assert where(people["ada"], "A") == ("wait", "exited")
    assert Instance.objects.get().end_reason == "exit event: Unsubscribed All"


def test_a_paused_journey_holds_its_instances_and_catches_up_when_resumed(tenant_a, people, hook, track, t0):
    journey = publish(tenant_a, cart_journey(*hook))
    track("ada", "Checkout Started", t0, cartId="A")
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    journey_set_status(tenant=tenant_a.ref, journey_id=journey.id, actor="t", status="paused")
    track("bob", "Checkout Started", t0 + timedelta(minutes=2), cartId="B")
    orchestrator_tick(now=t0 + timedelta(hours=5))
    assert where(people["ada"], "A") == ("wait", "active") and not Instance.objects.filter(cdp_id=people["bob"]).exists()
    journey_set_status(tenant=tenant_a.ref, journey_id=journey.id, actor="t", status="active")
    orchestrator_tick(now=t0 + timedelta(days=2))  # long after the timeout: taken at once
    assert where(people["ada"], "A") == ("done", "completed") and Delivery.objects.count() == 1


def test_ticks_are_recorded_with_counts_per_node(tenant_a, people, hook, track, t0):
    journey = publish(tenant_a, cart_journey(*hook))
    track("ada", "Checkout Started", t0, cartId="A")
    summary = orchestrator_tick(now=t0 + timedelta(minutes=1))
    assert summary.counts["enrolled"] == 1
    summary = orchestrator_tick(now=t0 + timedelta(hours=5))
    tick = Tick.objects.get(id=summary.tick_id)
    assert tick.state == "succeeded" and tick.finished_at is not None
    assert tick.counts["nodes"] == {f"{journey.id}:wait": 1, f"{journey.id}:email": 1, f"{journey.id}:done": 1}
    assert tick.counts["queued"] == 1
    assert InstanceStep.objects.filter(tick=tick.id).count() == 3


def test_erasure_deletes_a_customers_instances_and_merges_move_them(tenant_a, people, hook, track, t0, admin):
    publish(tenant_a, cart_journey(*hook))
    track("ada", "Checkout Started", t0, cartId="A")
    track("bob", "Checkout Started", t0, cartId="B")
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    assert admin.post(f"/api/customers/{people['ada']}/erase", {"confirm": people["ada"]}).status_code in (200, 202)
    summary = orchestrator_tick(now=t0 + timedelta(minutes=2))
    assert summary.counts["erased"] == 1
    assert not Instance.objects.filter(cdp_id=people["ada"]).exists() and not InstanceStep.objects.filter(instance__cdp_id=people["ada"])
    assert Instance.objects.filter(cdp_id=people["bob"]).exists()


def test_an_anonymous_shoppers_instance_follows_the_merge_into_the_known_customer(tenant_a, people, hook, track, t0, sdk, admin):
    from tracking.loader import load_inbox

    publish(tenant_a, cart_journey(*hook))
    stamp = t0.isoformat().replace("+00:00", "Z")
    sdk.post("/api/v1/batch", {"batch": [{"type": "track", "anonymousId": "anon-1", "event": "Checkout Started", "messageId": "anon-cart",
                                          "properties": {"cartId": "Z"}, "timestamp": stamp}]})
    load_inbox()
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    anonymous = Instance.objects.get(key="Z").cdp_id
    sdk.post("/api/v1/batch", {"batch": [{"type": "identify", "anonymousId": "anon-1", "userId": "cy", "messageId": "merge-1",
                                          "timestamp": stamp}]})
    load_inbox()
    survivor = admin.get("/api/customers/lookup?type=user_id&value=cy").json()["cdp_id"]
    assert survivor in (anonymous, people["cy"])
    summary = orchestrator_tick(now=t0 + timedelta(minutes=2))
    assert Instance.objects.get(key="Z").cdp_id == survivor
    assert survivor == people["cy"] != anonymous  # the known customer survives; the anonymous one is merged into it
    assert summary.counts["merged"] == 1
    track("cy", "Order Completed", t0 + timedelta(minutes=3), cartId="Z")  # the known customer's order resumes the wait
    orchestrator_tick(now=t0 + timedelta(minutes=4))
    assert Instance.objects.get(key="Z").node == "bought"


def test_the_command_ticks_at_a_given_clock_and_refuses_a_bad_one(tenant_a, people, hook, track, t0):
    from io import StringIO

    from django.core.management import CommandError, call_command

    publish(tenant_a, cart_journey(*hook))
    track("ada", "Checkout Started", t0, cartId="A")
    out, err = StringIO(), StringIO()
    call_command("cdp_orchestrate", "--at", (t0 + timedelta(minutes=1)).isoformat(), stdout=out, stderr=err)
    assert "enrolled: 1" in out.getvalue() and "1 enrolled" in err.getvalue()  # the summary, and progress per tenant
    assert Instance.objects.get().entered_at == t0 + timedelta(minutes=1)
    with pytest.raises(CommandError, match="time zone"):
        call_command("cdp_orchestrate", "--at", "2026-12-01T10:00:00")


def test_loading_events_asks_for_an_early_tick_while_a_journey_listens(tenant_a, people, hook, track, t0):
    """The loader queues a tick when events load and an active journey waits for events (at most
    once in 30 seconds), so event-to-action latency is the loader's minute, not five."""
    from django_q.models import OrmQ
    from django_q.signing import SignedPackage

    from journeys.services.journeys import journey_set_status

    def early():
        return [SignedPackage.loads(q.payload)["func"] for q in OrmQ.objects.all()]

    track("ada", "Page Viewed", t0)
    assert early() == []  # no journey listens
    journey = publish(tenant_a, cart_journey(*hook))
    track("ada", "Checkout Started", t0, cartId="A")
    assert early() == ["journeys.tasks.orchestrator_tick"]
    track("bob", "Checkout Started", t0, cartId="B")
    assert len(early()) == 1  # spaced: one early tick for a burst of loads
    journey_set_status(tenant=tenant_a.ref, journey_id=journey.id, actor="t", status="archived")
    from operations.models import Wakeup

    Wakeup.objects.update(woken_at=None)
    track("cy", "Checkout Started", t0, cartId="C")
    assert len(early()) == 1  # nothing listens any more
