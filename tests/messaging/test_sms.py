"""SMS through a provider with Twilio's Messages API shape, its API a real HTTP server on
loopback: the form sent, retries, a permanent error; status callbacks verified by their
signature (checked against Twilio's own validator), a dead number suppressed; segment counts."""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import pytest
from twilio.request_validator import RequestValidator

from messaging import selectors
from messaging.channels.sms import sms_segments, twilio_signature
from messaging.models import SuppressedAddress
from messaging.services import channels, outbox, templates
from messaging.services.drain import drain_once
from messaging.types import SendRequest
from tests.messaging.receivers import Answer
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]
TOKEN = "auth-token-1"


@pytest.fixture
def texters(sdk, admin):
    calls = [{"type": "identify", "userId": u, "traits": {"phone": phone, "first_name": u.title()}, "messageId": f"s{i}",
              "timestamp": "2026-11-01T10:00:00Z"} for i, (u, phone) in enumerate([("dee", "+4915112345678"), ("eve", "0151 no")])]
    assert sdk.post("/api/v1/batch", {"batch": calls}).status_code == 200
    load_inbox()
    return {u: admin.get(f"/api/customers/lookup?type=user_id&value={u}").json()["cdp_id"] for u in ("dee", "eve")}


@pytest.fixture
def sms(tenant_a, receiver):
    receiver.default = Answer(201, body=json.dumps({"sid": "SM0001", "status": "queued", "num_segments": "1"}).encode())
    channel = channels.channel_create(tenant=tenant_a.ref, name="Texts", kind="sms", actor="t", secret=TOKEN,
                                      config={"account_sid": "AC12345678", "from_number": "+15550001111", "base_url": receiver.url})
    template = templates.template_create(tenant=tenant_a.ref, name="Code", channel_kind="sms", actor="t",
                                         parts={"text": "Hi {{ customer.first_name }}, your code is {{ vars.code }}"})
    return channel, template


def _send(tenant_a, sms, cdp_id, key):
    channel, template = sms
    return outbox.delivery_enqueue(tenant=tenant_a.ref, request=SendRequest(
        key=key, channel_id=channel.id, template_id=template.id, cdp_id=cdp_id, category="transactional", variables={"code": "4711"}))[0]


def _callback(client, channel, params, token=TOKEN):
    signature = twilio_signature(token, channel.feedback_url, params)
    return client.post(f"/m/feedback/{channel.id}/", params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_an_sms_is_sent_in_twilios_shape_and_its_status_callbacks_verified(tenant_a, sms, receiver, texters, client):
    channel, _ = sms
    info = _send(tenant_a, sms, texters["dee"], "c1")
    drain_once()
    [call] = receiver.received
    assert call.path == "/2010-04-01/Accounts/AC12345678/Messages.json"
    assert call.headers["authorization"] == "Basic " + base64.b64encode(f"AC12345678:{TOKEN}".encode()).decode()
    form = {k: v[0] for k, v in parse_qs(call.body.decode()).items()}
    assert form == {"To": "+4915112345678", "From": "+15550001111", "Body": "Hi Dee, your code is 4711",
                    "StatusCallback": f"http://localhost:8000/m/feedback/{channel.id}/"}
    row = selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id)
    assert row.status == "sent" and row.response["json"]["sid"] == "SM0001"

    delivered = {"MessageSid": "SM0001", "MessageStatus": "delivered", "To": "+4915112345678", "AccountSid": "AC12345678"}
    # Our signature is Twilio's: its own validator accepts it.
    assert RequestValidator(TOKEN).validate(channel.feedback_url, delivered, twilio_signature(TOKEN, channel.feedback_url, delivered))
    assert _callback(client, channel, delivered, token="someone-else").status_code == 401
    assert client.post(f"/m/feedback/{channel.id}/", delivered).status_code == 401  # unsigned
    assert selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id).status == "sent"
    assert _callback(client, channel, delivered).status_code == 204
    assert selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id).status == "delivered"

    # A number that is gone: the delivery bounced and the number is suppressed for SMS.
    receiver.default = Answer(201, body=b'{"sid": "SM0002", "status": "queued"}')
    second = _send(tenant_a, sms, texters["dee"], "c2")
    drain_once()
    dead = {"MessageSid": "SM0002", "MessageStatus": "undelivered", "ErrorCode": "30005", "To": "+4915112345678"}
    assert _callback(client, channel, dead).status_code == 204
    row = selectors.delivery_get(tenant=tenant_a.ref, delivery_id=second.id)
    assert row.status == "bounced" and "unknown or inactive number" in row.reason
    assert SuppressedAddress.objects.filter(channel_kind="sms", address="+4915112345678").exists()
    third = _send(tenant_a, sms, texters["dee"], "c3")
    drain_once()
    assert selectors.delivery_get(tenant=tenant_a.ref, delivery_id=third.id).status == "skipped"
    assert len(receiver.received) == 2


def test_sms_failures_retry_or_fail_with_the_providers_words(tenant_a, sms, receiver, texters):
    receiver.script = [Answer(503, headers={"retry-after": "60"}, body=b"{}"),
                       Answer(400, body=b'{"code": 21211, "message": "The To number is not valid."}')]
    info = _send(tenant_a, sms, texters["dee"], "f1")
    drain_once()
    row = selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id)
    assert row.status == "retrying" and row.reason.startswith("HTTP 503")
    drain_once(now=row.next_attempt_at)
    row = selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id)
    assert row.status == "failed" and row.reason == "HTTP 400: 21211 The To number is not valid."
    bad = _send(tenant_a, sms, texters["eve"], "f2")  # "0151 no" is no +E.164 number: skipped before any call
    drain_once(now=row.next_attempt_at)
    row = selectors.delivery_get(tenant=tenant_a.ref, delivery_id=bad.id)
    assert row.status == "skipped" and row.reason.startswith("invalid address") and len(receiver.received) == 2


def test_sms_settings_and_segments(tenant_a, sms, texters, admin):
    from kernel.errors import InvalidInput

    with pytest.raises(InvalidInput, match="from_number"):
        channels.channel_create(tenant=tenant_a.ref, name="No sender", kind="sms", actor="t", secret=TOKEN,
                                config={"account_sid": "AC12345678"})
    assert sms_segments("Hello") == {"encoding": "GSM-7", "characters": 5, "segments": 1}
    assert sms_segments("a" * 160)["segments"] == 1 and sms_segments("a" * 161)["segments"] == 2
    assert sms_segments("€" * 80) == {"encoding": "GSM-7", "characters": 160, "segments": 1}  # extension characters count two
    assert sms_segments("€" * 81)["segments"] == 2
    assert sms_segments("ł" * 70) == {"encoding": "UCS-2", "characters": 70, "segments": 1}
    assert sms_segments("ł" * 71)["segments"] == 2 and sms_segments("😀" * 35)["characters"] == 70
    _, template = sms
    preview = admin.post(f"/api/messaging/templates/{template.id}/preview", {"cdp_id": texters["dee"], "variables": {"code": "1"}})
    assert preview.status_code == 200
    assert preview.json()["sms"] == {"encoding": "GSM-7", "characters": 22, "segments": 1}
