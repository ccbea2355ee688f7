"""The drain writes many outcomes in one commit (messaging.services.outcomes): each delivery's
status, attempts and events exactly as one at a time would, only while its drain holds the claim;
a provider's news that overtook the record of the send is kept; a sender's pause or cancel between
the claim and the send keeps the message from going; a customer's profiles are read together."""
from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from messaging.models import Delivery, DeliveryAttempt, DeliveryEvent
from messaging.services import channels, outbox, templates
from messaging.services.drain import Drain, drain_once
from messaging.services.feedback import Feedback, feedback_record
from messaging.services.outcomes import Attempt, Record, outcomes_write
from messaging.types import SendRequest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


@pytest.fixture
def queue(tenant_a, receiver, shoppers):
    channel = channels.channel_create(tenant=tenant_a.ref, name="Hook", kind="webhook", actor="t", config={"url": f"{receiver.url}/h"})
    template = templates.template_create(tenant=tenant_a.ref, name="Body", channel_kind="webhook", actor="t",
                                         parts={"body": '{"plan": "{{ customer.plan }}", "n": {{ vars.n }}}'})

    def queue(n: int, *, source: str = "api") -> list[Delivery]:
        outbox.deliveries_enqueue(tenant=tenant_a.ref, requests=[SendRequest(
            key=f"k{i}", channel_id=channel.id, template_id=template.id, cdp_id=shoppers["ada" if i % 2 else "bob"],
            category="transactional", source=source, variables={"n": i}) for i in range(n)])
        return list(Delivery.objects.select_related("template_version").order_by("id"))
    return queue


def _claimed(row: Delivery) -> str:
    token = uuid.uuid4().hex
    Delivery.objects.filter(id=row.id).update(claim=token, claimed_until=timezone.now(), status="sending", attempts=1)
    row.attempts, row.status = 1, "sending"
    return token


def test_a_pass_records_every_outcome_once_with_its_attempt_and_event(queue, receiver):
    queue(120)
    assert drain_once() == {"sent": 120}
    assert set(Delivery.objects.values_list("status", "attempts", "claim", "claimed_until")) == {("sent", 1, "", None)}
    assert DeliveryAttempt.objects.filter(outcome="sent", number=1).count() == 120
    assert DeliveryEvent.objects.filter(name="Message Sent").count() == 120
    assert len(receiver.received) == 120
    bodies = {r.headers["webhook-id"]: r.body for r in receiver.received}
    ada = Delivery.objects.get(idempotency_key="k1")
    assert b'"n": 1' in bodies[ada.delivery_id]  # each rendered with its own customer (read together) and variables


def test_an_outcome_is_written_only_while_its_drain_holds_the_claim(queue):
    row = queue(1)[0]
    _claimed(row)
    outcomes_write([Record(row=row, at=timezone.now(), status="sent", reason="", sent_at=timezone.now(),
                           attempt=Attempt(number=1, started_at=timezone.now(), outcome="sent", status_code=200, error="", duration_ms=3))],
                   "another drain's token")
    fresh = Delivery.objects.get(id=row.id)
    assert fresh.status == "sending" and fresh.claim  # the claim's holder records it, not a drain whose claim was taken over
    assert DeliveryAttempt.objects.filter(delivery_id=row.id).count() == 1  # the request was made all the same
    assert not DeliveryEvent.objects.filter(delivery_id=row.id).exists()


def test_a_providers_news_that_overtook_the_record_of_the_send_is_kept(queue):
    row = queue(1)[0]
    token = _claimed(row)
    feedback_record(row, Feedback(status="delivered", at=timezone.now()), kind="webhook")
    outcomes_write([Record(row=row, at=timezone.now(), status="sent", reason="", sent_at=timezone.now(), provider_id="p-1")], token)
    fresh = Delivery.objects.get(id=row.id)
    assert (fresh.status, fresh.provider_id, fresh.claim) == ("delivered", "p-1", "")
    assert fresh.sent_at is not None
    assert set(DeliveryEvent.objects.filter(delivery_id=row.id).values_list("name", flat=True)) == {"Message Delivered", "Message Sent"}


def test_a_pause_between_the_claim_and_the_send_keeps_the_message_from_going(queue, tenant_a, receiver):
    row = queue(1, source="campaign:7")[0]
    drain, token = Drain(), uuid.uuid4().hex
    try:
        assert drain.claim(row, timezone.now(), token)
        assert outbox.deliveries_hold(tenant=tenant_a.ref, source="campaign:7") == 1
        assert drain.process(row, timezone.now(), token) == ""
    finally:
        drain.close()
    fresh = Delivery.objects.get(id=row.id)
    assert (fresh.status, fresh.attempts, fresh.claim, fresh.claimed_until) == ("held", 0, "", None)
    assert receiver.received == []
    outbox.deliveries_release(tenant=tenant_a.ref, source="campaign:7")
    assert drain_once() == {"sent": 1}  # released, it goes at once: no claim left to expire


def test_an_outcome_decided_before_the_send_keeps_a_senders_cancel(queue, tenant_a):
    row = queue(1, source="campaign:8")[0]
    token = uuid.uuid4().hex
    Delivery.objects.filter(id=row.id).update(claim=token, claimed_until=timezone.now())
    outbox.deliveries_cancel(tenant=tenant_a.ref, source="campaign:8", reason="cancelled by its sender")
    outcomes_write([Record(row=row, at=timezone.now(), status="skipped", reason="suppressed")], token)
    fresh = Delivery.objects.get(id=row.id)
    assert (fresh.status, fresh.reason, fresh.claim) == ("cancelled", "cancelled by its sender", "")
    assert not DeliveryEvent.objects.filter(delivery_id=row.id).exists()
