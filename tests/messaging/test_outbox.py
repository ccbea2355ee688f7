"""Queueing many sends at once (a campaign's audience): once per key, checked like one send,
nothing written when one request is wrong."""
from __future__ import annotations

import pytest
from django.utils import timezone

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


def test_sends_named_by_a_query_are_queued_by_one_statement_once_per_key(tenant_a, receiver, shoppers, django_user_model):
    from datetime import timedelta

    from django.db.models import Case, DateTimeField, F, Value, When
    from django.db.models.functions import Concat

    from messaging.types import SendShape

    channel = channels.channel_create(tenant=tenant_a.ref, name="Hook", kind="webhook", actor="t", config={"url": f"{receiver.url}/h"})
    template = templates.template_create(tenant=tenant_a.ref, name="Body", channel_kind="webhook", actor="t",
                                         parts={"body": '{"v": "{{ vars.variant }}"}'})
    for name in ("ada", "bob", "cy"):  # any table of the caller's: here the users, one send each
        django_user_model.objects.create(username=name, email=f"{name}@example.com", is_staff=name == "bob")
    now = timezone.now().replace(microsecond=0)  # (a past `expires_at` would skip the sends)
    shapes = {"plain": SendShape(channel_id=channel.id, template_id=template.id, category="transactional", source="test",
                                 variables={"variant": "plain"}),
              "staff": SendShape(channel_id=channel.id, template_id=template.id, category="transactional", source="test",
                                 variables={"variant": "staff"})}

    def rows(key_prefix="user:"):
        return django_user_model.objects.order_by("id").annotate(
            send_key=Concat(Value(key_prefix), F("username")), send_cdp_id=Value(shoppers["ada"]), send_address=F("email"),
            send_shape=Case(When(is_staff=True, then=Value("staff")), default=Value("plain")),
            send_expires_at=Value(now + timedelta(hours=1), output_field=DateTimeField()))

    outbox.delivery_enqueue(tenant=tenant_a.ref, request=SendRequest(key="user:cy", channel_id=channel.id, template_id=template.id,
                                                                     cdp_id=shoppers["ada"], category="transactional", source="earlier"), now=now)
    assert outbox.deliveries_enqueue_query(tenant=tenant_a.ref, rows=rows(), shapes=shapes, now=now) == 2  # cy's key was queued before
    assert outbox.deliveries_enqueue_query(tenant=tenant_a.ref, rows=rows(), shapes=shapes, now=now) == 0  # and now all three
    queued = {d.idempotency_key: d for d in Delivery.objects.filter(tenant_id=tenant_a.ref.id)}
    assert set(queued) == {"user:ada", "user:bob", "user:cy"} and queued["user:cy"].source == "earlier"
    bob = queued["user:bob"]
    assert (bob.variables, bob.address, bob.category, bob.source, bob.status) == ({"variant": "staff"}, "bob@example.com", "transactional",
                                                                                  "test", "queued")
    assert bob.expires_at == now + timedelta(hours=1) and bob.next_attempt_at == now and bob.template_version.version == 1
    assert queued["user:ada"].variables == {"variant": "plain"}
    ids = [d.delivery_id for d in queued.values()]
    assert len(set(ids)) == 3 and all(len(i) == 36 and i.startswith("msg_") and int(i[4:], 16) >= 0 for i in ids)

    marketing = {"plain": SendShape(channel_id=channel.id, template_id=template.id, category="marketing", topic="none here")}
    with pytest.raises(InvalidInput) as refused:
        outbox.deliveries_enqueue_query(tenant=tenant_a.ref, rows=rows("other:"), shapes=marketing, now=now)
    assert refused.value.errors[0]["field"] == "shapes.plain.topic" and refused.value.detail.startswith("Shape plain:")
    with pytest.raises(InvalidInput, match="idempotency key of 1 to 300"):
        outbox.deliveries_enqueue_query(tenant=tenant_a.ref, rows=rows("x" * 300), shapes=shapes, now=now)
    assert Delivery.objects.filter(tenant_id=tenant_a.ref.id).count() == 3  # nothing of a refused query is queued
    assert drain_once(now=now) == {"sent": 3}  # the rows read and send as any other delivery
    assert sorted(receiver.ids()) == sorted(ids)
