"""The demo campaigns (`cdp_demo`): made once; the December newsletter is sent with two subject
lines, a holdout and a seed; next week's waits for 09:00 in each subscriber's zone."""
from __future__ import annotations

from collections import Counter

import pytest

from campaigns.demo import demo_campaigns_load
from campaigns.models import Campaign, Recipient
from messaging.demo import demo_messaging_load
from messaging.models import Delivery
from segments.services import segment_create, segment_refresh

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def test_the_demo_campaigns_are_made_once_one_sent_one_scheduled(tenant_a, crowd):
    demo_messaging_load(tenant=tenant_a.ref)
    segment = segment_create(tenant=tenant_a.ref, name="Newsletter subscribers", actor="t",
                             definition={"type": "trait", "key": "email", "op": "exists"})
    segment_refresh(tenant=tenant_a.ref, segment_id=segment.id, trigger="test")
    assert demo_campaigns_load(tenant=tenant_a.ref) == 2
    assert demo_campaigns_load(tenant=tenant_a.ref) == 0
    statuses = dict(Campaign.objects.values_list("name", "status"))
    assert statuses == {"December newsletter": "completed", "Next week's newsletter": "scheduled"}
    sent = Campaign.objects.get(name="December newsletter")
    groups = Counter(Recipient.objects.filter(run__campaign=sent, seed=False).values_list("group", flat=True))
    assert groups["A"] and groups["B"] and groups["holdout"]
    assert Delivery.objects.filter(source=f"campaign:{sent.id}", address="team@shop.example.com").count() == 2  # the seed, both lines
