"""The demo journeys (`cdp_demo`): made once, live, and the welcome series mails at the first tick
through the demo mailbox channel; the abandoned cart has carts in it."""
from __future__ import annotations

from datetime import timedelta

import pytest

from journeys.demo import demo_journeys_load
from journeys.models import Instance, Journey
from journeys.services.orchestrator import orchestrator_tick
from messaging.demo import demo_messaging_load
from messaging.models import Delivery
from messaging.services.drain import drain_once

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def test_the_demo_journeys_run_and_mail_the_local_mailbox(tenant_a, people, tmp_path, t0):
    demo_messaging_load(tenant=tenant_a.ref)
    assert demo_journeys_load(tenant=tenant_a.ref) == 2
    assert demo_journeys_load(tenant=tenant_a.ref) == 0  # once
    assert set(Journey.objects.values_list("name", "status")) == {("Welcome series", "active"), ("Abandoned cart", "active")}
    welcome = Journey.objects.get(name="Welcome series")
    assert welcome.instances.count() == 4  # everyone with an email (the fixture has four)
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    queued = Delivery.objects.filter(source=f"journey:{welcome.id}")
    assert queued.count() == welcome.instances.filter(holdout=False).count() > 0
    noon = (t0 + timedelta(days=1)).replace(hour=12, minute=0)
    drain_once(now=noon)  # outside the demo's quiet hours (21:00-08:00)
    assert set(queued.values_list("status", flat=True)) == {"sent"}
    assert list((tmp_path / "mailbox").iterdir())
    carts = Instance.objects.filter(journey__name="Abandoned cart")
    assert carts.count() == 4 and all(i.key.startswith("cart-") and i.node == "wait" for i in carts)
