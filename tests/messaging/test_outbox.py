"""Queueing many sends at once (a campaign's audience): once per key, checked like one send,
nothing written when one request is wrong."""
from __future__ import annotations

import pytest

from kernel.errors import InvalidInput
from messaging.models import Delivery
from messaging.services import channels, outbox, templates
from messaging.services.drain import drain_once
from messaging.types import SendRequest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def test_many_sends_are_queued_once_per_key_and_checked_first(tenant_a, receiver, shoppers):
    channel = channels.channel_create(tenant=tenant_a.ref, name="Hook", kind="webhook", actor="t", config={"url": f"{receiver.url}/h"})
    template = templates.template_create(tenant=tenant_a.ref, name="Body", channel_kind="webhook", actor="t",
                                         parts={"body": '{"n": {{ vars.n }}}'})

    def request(key, n, **extra):
        return SendRequest(key=key, channel_id=channel.id, template_id=template.id, cdp_id=shoppers["ada"], category="transactional",
                           source="campaign:1", variables={"n": n}, **extra)

    outbox.delivery_enqueue(tenant=tenant_a.ref, request=request("x", 0))
    assert outbox.deliveries_enqueue(tenant=tenant_a.ref, requests=[request("a", 1), request("b", 2), request("b", 3),
                                                                     request("c", 4), request("x", 5)]) == (3, 2)
    assert sorted(Delivery.objects.values_list("idempotency_key", flat=True)) == ["a", "b", "c", "x"]
    assert Delivery.objects.get(idempotency_key="b").variables == {"n": 2}  # the first asking wins, as one by one

    with pytest.raises(InvalidInput) as refused:
        outbox.deliveries_enqueue(tenant=tenant_a.ref, requests=[request("d", 6), request("e", 7, topic=""),
                                                                 SendRequest(key="f", channel_id=channel.id, template_id=template.id,
                                                                             cdp_id=shoppers["ada"], category="marketing")])
    assert refused.value.errors[0]["field"] == "requests.2.topic" and refused.value.detail.startswith("Request 2:")
    assert not Delivery.objects.filter(idempotency_key="d").exists()  # nothing of a refused batch is queued
    assert drain_once() == {"sent": 4} and len(receiver.received) == 4
