"""Webhook deliveries to a real HTTP server on loopback: signed per Standard Webhooks (verified
with the `standardwebhooks` package, across a rotation), retried on the schedule under an
injected clock with the same webhook-id, Retry-After honoured, 410 disabling the channel,
and private targets refused after DNS resolution and on redirects."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from messaging import selectors
from messaging.services import channels, outbox, templates
from messaging.services.drain import MAX_ATTEMPTS, drain_once, retry_delay
from messaging.types import SendRequest
from tests.messaging.receivers import Answer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BODY = '{"to": "{{ customer.email }}", "plan": "{{ customer.plan }}", "cart": "{{ event.cart_id }}", "n": {{ vars.n | default: 0 }}}'


@pytest.fixture
def hook(tenant_a, receiver):
    channel = channels.channel_create(tenant=tenant_a.ref, name="Orders hook", kind="webhook", config={"url": f"{receiver.url}/hook",
                                      "timeout_seconds": 2}, actor="t")
    template = templates.template_create(tenant=tenant_a.ref, name="Order", channel_kind="webhook", parts={"body": BODY}, actor="t")
    return channel, template


def _send(tenant_a, hook, cdp_id, key="k1", **extra):
    channel, template = hook
    info, created = outbox.delivery_enqueue(tenant=tenant_a.ref, now=T0, request=SendRequest(
        key=key, channel_id=channel.id, template_id=template.id, cdp_id=cdp_id, category="transactional", source="test",
        variables={"event": {"cart_id": "c-9"}, "n": 3}, **extra))
    return info


def _row(tenant_a, info):
    return selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id)


def test_a_signed_webhook_is_sent_once_per_key(tenant_a, hook, receiver, shoppers):
    from django.utils import timezone

    channel, _ = hook
    now = timezone.now()  # the package verifies timestamps against the wall clock
    info = _send(tenant_a, hook, shoppers["ada"])
    again, created = outbox.delivery_enqueue(tenant=tenant_a.ref, request=SendRequest(key="k1", channel_id=channel.id,
                                             template_id=hook[1].id, cdp_id=shoppers["ada"], category="transactional"))
    assert not created and again.id == info.id
    assert drain_once(now=now) == {"sent": 1}
    assert drain_once(now=now + timedelta(hours=1)) == {}  # nothing twice
    [request] = receiver.received
    assert request.body == b'{"to": "ada@example.com", "plan": "pro", "cart": "c-9", "n": 3}'
    secret = channel.secret
    Webhook(secret).verify(request.body, request.headers)  # raises when the signature is wrong
    assert request.headers["webhook-id"] == info.delivery_id and request.headers["webhook-timestamp"] == str(int(now.timestamp()))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(request.body.replace(b"pro", b"pri"), request.headers)
    done = _row(tenant_a, info)
    assert done.status == "sent" and done.attempts == 1 and done.response["status"] == 200 and done.response["json"] == {"ok": True}


def test_failures_are_retried_on_the_schedule_with_the_same_id(tenant_a, hook, receiver, shoppers):
    receiver.script = [Answer(500), Answer(503, headers={"retry-after": "120"}), Answer(200)]
    info = _send(tenant_a, hook, shoppers["ada"])
    assert drain_once(now=T0) == {"retrying": 1}
    first = _row(tenant_a, info)
    wait = retry_delay(info.delivery_id, 1)
    assert 24 <= wait <= 36 and first.next_attempt_at == T0 + timedelta(seconds=wait) and first.reason == "HTTP 500"
    assert drain_once(now=T0 + timedelta(seconds=wait - 1)) == {}  # not before its time
    at = T0 + timedelta(seconds=wait)
    assert drain_once(now=at) == {"retrying": 1}
    assert _row(tenant_a, info).next_attempt_at == at + timedelta(seconds=120)  # Retry-After, not the backoff
    assert drain_once(now=at + timedelta(seconds=120)) == {"sent": 1}
    assert receiver.ids() == [info.delivery_id] * 3
    done = _row(tenant_a, info)
    assert [a["outcome"] for a in done.attempt_log] == ["retry", "retry", "sent"] and done.attempts == 3


def test_the_backoff_doubles_to_an_hour_and_gives_up(tenant_a, hook, receiver, shoppers):
    receiver.default = Answer(500)
    info = _send(tenant_a, hook, shoppers["ada"])
    now = T0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        drain_once(now=now)
        row = _row(tenant_a, info)
        if attempt < MAX_ATTEMPTS:
            assert row.status == "retrying"
            now = row.next_attempt_at
    assert row.status == "failed" and row.reason == f"gave up after {MAX_ATTEMPTS} attempts: HTTP 500"
    assert [retry_delay("x", n) <= 3600 * 1.2 for n in range(1, 12)] == [True] * 11
    assert retry_delay("x", 2) > retry_delay("x", 1) * 1.3  # doubling, jitter aside
    assert len(receiver.received) == MAX_ATTEMPTS


def test_410_disables_the_channel_and_4xx_fails_for_good(tenant_a, hook, receiver, shoppers):
    receiver.script = [Answer(400, body=b'{"error": "bad"}'), Answer(410)]
    bad = _send(tenant_a, hook, shoppers["ada"], key="a")
    drain_once(now=T0)
    assert _row(tenant_a, bad).status == "failed" and _row(tenant_a, bad).reason == "HTTP 400"
    gone = _send(tenant_a, hook, shoppers["ada"], key="b")
    drain_once(now=T0)
    assert _row(tenant_a, gone).status == "failed"
    assert "410" in selectors.channel_get(tenant=tenant_a.ref, channel_id=hook[0].id).disabled_reason
    later = _send(tenant_a, hook, shoppers["ada"], key="c")
    drain_once(now=T0)
    assert _row(tenant_a, later).reason.startswith("the channel is disabled") and len(receiver.received) == 2


def test_a_stalled_endpoint_times_out_and_is_retried(tenant_a, hook, receiver, shoppers):
    release = threading.Event()
    receiver.script = [Answer(200, stall=release)]
    try:
        info = _send(tenant_a, hook, shoppers["ada"])
        drain_once(now=T0)
        assert _row(tenant_a, info).status == "retrying" and "no answer within 2 s" in _row(tenant_a, info).reason
    finally:
        release.set()


def test_rotation_signs_with_both_secrets_during_the_overlap(tenant_a, hook, receiver, shoppers):
    # Signatures are verified by the package against the wall clock (its 5-minute tolerance): these
    # sends are made now; the rotations are dated so that the overlap has, or has not, ended.
    from django.utils import timezone

    now = timezone.now()
    old = hook[0].secret
    rotated = channels.channel_rotate(tenant=tenant_a.ref, channel_id=hook[0].id, actor="t", overlap=timedelta(hours=1),
                                      now=now - timedelta(minutes=30))
    assert rotated.secret and rotated.secret != old and selectors.channel_get(tenant=tenant_a.ref, channel_id=hook[0].id).secret == ""
    _send(tenant_a, hook, shoppers["ada"], key="during")
    drain_once(now=now)
    during = receiver.received[-1]
    assert len(during.headers["webhook-signature"].split()) == 2
    for secret in (old, rotated.secret):  # a receiver holding either secret accepts it
        Webhook(secret).verify(during.body, during.headers)
    again = channels.channel_rotate(tenant=tenant_a.ref, channel_id=hook[0].id, actor="t", overlap=timedelta(hours=1),
                                    now=now - timedelta(hours=2))  # its overlap ended an hour ago
    _send(tenant_a, hook, shoppers["ada"], key="after")
    drain_once(now=now)
    after = receiver.received[-1]
    Webhook(again.secret).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(rotated.secret).verify(after.body, after.headers)


def test_private_targets_are_refused_after_resolution_and_on_redirects(tenant_a, hook, receiver, shoppers, settings, monkeypatch):
    settings.CDP_WEBHOOK_ALLOW_PRIVATE = False
    info = _send(tenant_a, hook, shoppers["ada"], key="loopback")
    drain_once(now=T0)
    row = _row(tenant_a, info)
    assert row.status == "failed" and "127.0.0.1" in row.reason and "private" in row.reason and receiver.received == []
    named = channels.channel_create(tenant=tenant_a.ref, name="By name", kind="webhook", actor="t",
                                    config={"url": f"http://localhost:{receiver.server.server_address[1]}/x"})
    by_name = outbox.delivery_enqueue(tenant=tenant_a.ref, now=T0, request=SendRequest(
        key="named", channel_id=named.id, template_id=hook[1].id, cdp_id=shoppers["ada"], category="transactional"))[0]
    drain_once(now=T0)
    assert _row(tenant_a, by_name).status == "failed" and "resolves to" in _row(tenant_a, by_name).reason
    # The receiver's own address counts as public here; its redirect to another loopback address does not.
    from messaging.channels import netguard

    monkeypatch.setattr(netguard, "_public", lambda address: address == "127.0.0.1")
    receiver.script = [Answer(307, headers={"location": f"http://127.0.0.2:{receiver.server.server_address[1]}/inside"})]
    moved = _send(tenant_a, hook, shoppers["ada"], key="redirected")
    drain_once(now=T0)
    assert _row(tenant_a, moved).status == "failed" and "127.0.0.2" in _row(tenant_a, moved).reason
    assert [r.path for r in receiver.received] == ["/hook"]


def test_webhook_settings_are_checked(tenant_a):
    from kernel.errors import InvalidInput

    for config, field in (({"url": "ftp://x"}, "config.url"), ({"url": "http://u:p@example.com/"}, "config.url"),
                          ({"url": "https://example.com/", "timeout_seconds": 600}, "config.timeout_seconds")):
        with pytest.raises(InvalidInput) as refused:
            channels.channel_create(tenant=tenant_a.ref, name="x", kind="webhook", config=config, actor="t")
        assert refused.value.errors[0]["field"] == field


def test_every_final_status_becomes_an_event_on_the_customer(tenant_a, hook, receiver, shoppers, admin):
    from messaging.services.drain import delivery_events_export

    receiver.script = [Answer(500), Answer(200)]
    info = _send(tenant_a, hook, shoppers["ada"])
    drain_once(now=T0)  # retrying: no event
    drain_once(now=T0 + timedelta(hours=1))  # sent
    skipped = _send(tenant_a, hook, "cdp_nobody", key="gone")
    drain_once(now=T0 + timedelta(hours=1))
    assert delivery_events_export() == 0  # drain_once exported them already
    events = admin.get(f"/api/customers/{shoppers['ada']}/events?event=Message Sent").json()["items"]
    assert len(events) == 1
    sent = events[0]
    assert sent["properties"]["delivery_id"] == info.delivery_id and sent["properties"]["template_id"] == hook[1].id
    assert sent["event_time"].startswith("2026-11-20T13:00:00")  # the drain's clock
    assert _row(tenant_a, skipped).status == "skipped"


def test_a_delivery_that_cannot_be_processed_is_retried_without_stopping_the_others(tenant_a, hook, receiver, shoppers, monkeypatch):
    from messaging import context

    broken = _send(tenant_a, hook, shoppers["ada"], key="broken")
    fine = _send(tenant_a, hook, shoppers["bob"], key="fine")
    real = context.recipient

    def flaky(kind, profile):
        if profile.cdp_id == shoppers["ada"]:
            raise RuntimeError("boom")
        return real(kind, profile)

    monkeypatch.setattr("messaging.services.drain.recipient", flaky)
    assert drain_once(now=T0) == {"retrying": 1, "sent": 1}
    row = _row(tenant_a, broken)
    assert row.status == "retrying" and row.reason == "could not be processed: RuntimeError" and row.attempts == 1
    assert _row(tenant_a, fine).status == "sent"
    now = T0
    for _ in range(MAX_ATTEMPTS):
        now = _row(tenant_a, broken).next_attempt_at
        drain_once(now=now)
    assert _row(tenant_a, broken).status == "failed" and _row(tenant_a, broken).reason.startswith(f"gave up after {MAX_ATTEMPTS} attempts")


def test_webhook_headers_are_kept_encrypted_and_shown_by_name(tenant_a, receiver, shoppers, admin):
    made = admin.post("/api/messaging/channels", {"name": "CRM", "kind": "webhook", "endpoint_rate_per_second": 3, "config": {
        "url": f"{receiver.url}/crm", "headers": {"Authorization": "Bearer s3cret-token"}}})
    assert made.status_code == 201 and made.json()["config"]["header_names"] == ["Authorization"]
    assert made.json()["endpoint_rate_per_second"] == 3
    cid = made.json()["id"]
    assert admin.patch(f"/api/messaging/channels/{cid}", {"endpoint_rate_per_second": 0}).json()["endpoint_rate_per_second"] == 0
    assert "s3cret" not in admin.get(f"/api/messaging/channels/{cid}").content.decode()
    from messaging.models import Channel

    row = Channel.objects.get(id=cid)
    assert "s3cret" not in str(row.config) and "s3cret" not in row.secret_headers  # encrypted at rest
    # Changing the URL keeps the headers nobody can see; the send carries them.
    assert admin.patch(f"/api/messaging/channels/{cid}", {"config": {"url": f"{receiver.url}/crm2"}}).status_code == 200
    template = templates.template_create(tenant=tenant_a.ref, name="crm", channel_kind="webhook", parts={"body": "{}"}, actor="t")
    outbox.delivery_enqueue(tenant=tenant_a.ref, now=T0, request=SendRequest(key="crm", channel_id=cid, template_id=template.id,
                                                                             cdp_id=shoppers["ada"], category="transactional"))
    drain_once(now=T0)
    [request] = receiver.received
    assert request.path == "/crm2" and request.headers["authorization"] == "Bearer s3cret-token"


def test_a_delivery_whose_drain_dies_every_time_gives_up(tenant_a, hook, receiver, shoppers):
    from messaging.models import Delivery

    info = _send(tenant_a, hook, shoppers["ada"], key="poison")
    # As if MAX_ATTEMPTS drains had claimed it and died mid-send: claimed, counted, never recorded.
    Delivery.objects.filter(id=info.id).update(status="sending", attempts=MAX_ATTEMPTS, claim="dead", claimed_until=T0)
    drain_once(now=T0 + timedelta(minutes=10))
    row = _row(tenant_a, info)
    assert row.status == "failed" and "the drain stopped while sending it" in row.reason and receiver.received == []


def test_the_api_test_send_answers_with_the_first_attempt(tenant_a, hook, receiver, shoppers, admin):
    sent = admin.post("/api/messaging/test-send", {"channel_id": hook[0].id, "template_id": hook[1].id, "cdp_id": shoppers["ada"]})
    assert sent.status_code == 202 and sent.json()["delivery"]["status"] == "sent"
    assert sent.json()["delivery"]["attempt_log"][0]["outcome"] == "sent" and len(receiver.received) == 1
