"""What happens after a send: opens and clicks through the product's own signed links, a
provider's delivery events through anymail's webhook (Postmark's shape, from a real HTTP server
on loopback standing in for its API), a bounce suppressing the address, erasure removing it."""
from __future__ import annotations

import base64
import json
import re

import pytest

from messaging import selectors
from messaging.models import DeliveryEvent, SuppressedAddress
from messaging.services import channels, outbox, templates
from messaging.services.drain import drain_once
from messaging.types import SendRequest
from tenancy.roles import Role
from tests.messaging.receivers import Answer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]
HTML = """<html><body><p>Hi {{ customer.first_name }}</p>
<a class="x" href="https://shop.example.com/offers?a=1&amp;b=2">Offers</a>
<a href="mailto:help@shop.example.com">Write to us</a>
<a href="https://shop.example.com/private" data-cdp-untracked>Untracked</a>
<a href="{{ message.unsubscribe_url }}">Unsubscribe</a></body></html>"""


def _mail_channel(tenant_a, name, config, secret=""):
    return channels.channel_create(tenant=tenant_a.ref, name=name, kind="email", actor="t", secret=secret,
                                   config={"from_email": "Shop <news@shop.example.com>", **config})


def _send(tenant_a, channel, template, cdp_id, key, category="transactional"):
    return outbox.delivery_enqueue(tenant=tenant_a.ref, request=SendRequest(
        key=key, channel_id=channel.id, template_id=template.id, cdp_id=cdp_id, category=category, source="test"))[0]


def _events(info):
    return sorted(DeliveryEvent.objects.filter(delivery__delivery_id=info.delivery_id).values_list("name", flat=True))


def test_opens_and_clicks_are_recorded_through_signed_links(tenant_a, smtp_server, shoppers, client):
    channel = _mail_channel(tenant_a, "Mail", {"backend": "smtp", "host": "127.0.0.1", "port": smtp_server.port, "security": "none"})
    template = templates.template_create(tenant=tenant_a.ref, name="Offers", channel_kind="email", actor="t",
                                         parts={"subject": "Offers", "html": HTML})
    info = _send(tenant_a, channel, template, shoppers["ada"], "k1")
    drain_once()
    [message] = smtp_server.inbox.messages
    html = message.get_body(("html",)).get_content()
    links = re.findall(r'href="(http://localhost:8000/m/c/[^"]+)"', html)
    [pixel] = re.findall(r'<img src="(http://localhost:8000/m/o/[^"]+)"', html)
    assert len(links) == 1  # mailto, the untracked link and the unsubscribe link are left as they are
    assert 'href="mailto:help@shop.example.com"' in html and 'href="https://shop.example.com/private"' in html
    assert "See" not in message.get_body(("plain",)).get_content() and "(https://shop.example.com/offers?a=1&b=2)" in \
        message.get_body(("plain",)).get_content()  # the text part names the real target

    for _ in range(2):  # a second open changes nothing
        opened = client.get(pixel.removeprefix("http://localhost:8000"))
        assert opened.status_code == 200 and opened["Content-Type"] == "image/gif" and opened["Cache-Control"].startswith("no-store")
    assert selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id).status == "opened"
    click = client.get(links[0].replace("&amp;", "&").removeprefix("http://localhost:8000"))
    assert click.status_code == 302 and click["Location"] == "https://shop.example.com/offers?a=1&b=2"
    assert selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id).status == "clicked"
    client.get(pixel.removeprefix("http://localhost:8000"))  # an open after the click: the status stays
    assert selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id).status == "clicked"
    assert _events(info) == ["Message Clicked", "Message Opened", "Message Sent"]

    token = links[0].removeprefix("http://localhost:8000/m/c/").rstrip("/")
    forged = client.get(f"/m/c/{token[:-3]}abc/")
    assert forged.status_code == 404 and "Location" not in forged  # never an open redirect
    drain_once()  # exports the news as events on the customer
    assert not DeliveryEvent.objects.filter(exported=False).exists()


@pytest.fixture
def postmark(tenant_a, receiver):
    """An email channel through anymail's Postmark backend, its API a loopback server."""
    receiver.default = Answer(200, body=json.dumps({"To": "ada@example.com", "SubmittedAt": "2026-11-01T10:00:00Z",
                                                    "MessageID": "pm-1", "ErrorCode": 0, "Message": "OK"}).encode())
    channel = _mail_channel(tenant_a, "Postmark", {"backend": "anymail.backends.postmark.EmailBackend", "api_url": receiver.url},
                            secret="server-token")
    template = templates.template_create(tenant=tenant_a.ref, name="Receipt", channel_kind="email", actor="t",
                                         parts={"subject": "Your receipt", "html": "<p>Thanks {{ customer.first_name }}</p>"})
    return channel, template


def _post_events(client, channel, events, credentials):
    auth = base64.b64encode(credentials.encode()).decode()
    return client.post(f"/m/feedback/{channel.id}/", json.dumps(events), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Basic {auth}")


def test_provider_events_reach_the_delivery_and_a_bounce_suppresses_the_address(tenant_a, postmark, receiver, shoppers, client, admin):
    channel, template = postmark
    assert channel.feedback_url == f"http://localhost:8000/m/feedback/{channel.id}/" and channel.feedback_credentials.startswith("cdp:")
    info = _send(tenant_a, channel, template, shoppers["ada"], "p1")
    drain_once()
    assert selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id).reason == ""
    [call] = receiver.received
    body = json.loads(call.body)
    assert call.headers["x-postmark-server-token"] == "server-token"
    assert body["Metadata"] == {"cdp_delivery": info.delivery_id} and body["To"] == "ada@example.com"
    assert body["TrackOpens"] is False  # ours, not the provider's: links are not wrapped twice
    assert selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id).response["provider_id"] == "pm-1"

    delivered = {"RecordType": "Delivery", "MessageID": "pm-1", "Recipient": "ada@example.com", "DeliveredAt": "2026-11-01T10:00:05Z",
                 "Details": "250 OK", "Metadata": {"cdp_delivery": info.delivery_id}}
    assert _post_events(client, channel, delivered, "cdp:wrong").status_code == 401
    assert selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id).status == "sent"
    assert _post_events(client, channel, delivered, channel.feedback_credentials).status_code == 200
    assert selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id).status == "delivered"

    bounce = {"RecordType": "Bounce", "Type": "HardBounce", "MessageID": "pm-1", "Email": "Ada@Example.com",
              "BouncedAt": "2026-11-01T10:01:00Z", "Description": "The mailbox does not exist", "Details": "550 5.1.1"}
    for _ in range(2):  # providers retry their webhooks: the same news twice is one event
        assert _post_events(client, channel, bounce, channel.feedback_credentials).status_code == 200
    row = selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id)
    assert row.status == "bounced" and "does not exist" in row.reason
    assert _events(info) == ["Message Bounced", "Message Delivered", "Message Sent"]
    [suppressed] = SuppressedAddress.objects.filter(tenant_id=tenant_a.ref.id)
    assert suppressed.address == "ada@example.com" and suppressed.cdp_id == shoppers["ada"]
    listed = admin.get("/api/messaging/suppressions").json()
    assert [s["address"] for s in listed["items"]] == ["ada@example.com"]

    again = _send(tenant_a, channel, template, shoppers["ada"], "p2")  # even transactional mail stops going to it
    drain_once()
    row = selectors.delivery_get(tenant=tenant_a.ref, delivery_id=again.id)
    assert row.status == "skipped" and row.reason.startswith("the address is suppressed (bounced")
    assert len(receiver.received) == 1

    # A complaint about a message this product did not send still suppresses its address.
    stray = {"RecordType": "SpamComplaint", "Type": "SpamComplaint", "MessageID": "elsewhere", "Email": "bob@example.com",
             "BouncedAt": "2026-11-01T10:02:00Z"}
    assert _post_events(client, channel, stray, channel.feedback_credentials).status_code == 200
    assert SuppressedAddress.objects.filter(address="bob@example.com").exists()

    # An operator lifts a suppression; erasure removes the customer's.
    bob = next(s for s in admin.get("/api/messaging/suppressions").json()["items"] if s["address"] == "bob@example.com")
    assert admin.delete(f"/api/messaging/suppressions/{bob['id']}").status_code == 204
    assert admin.post(f"/api/customers/{shoppers['ada']}/erase", {"confirm": shoppers["ada"]}).status_code == 200
    drain_once()
    assert not SuppressedAddress.objects.filter(tenant_id=tenant_a.ref.id).exists()


def test_feedback_endpoints_refuse_what_is_not_theirs(tenant_a, postmark, smtp_server, client):
    channel, _ = postmark
    smtp = _mail_channel(tenant_a, "Plain", {"backend": "smtp", "host": "127.0.0.1", "port": smtp_server.port, "security": "none"})
    assert smtp.feedback_url == "" and smtp.feedback_credentials == ""
    assert _post_events(client, smtp, {}, "cdp:x").status_code == 404  # SMTP has no provider to send events
    assert client.get(f"/m/feedback/{channel.id}/").status_code == 405
    garbled = client.post(f"/m/feedback/{channel.id}/", "not json", content_type="application/json",
                          HTTP_AUTHORIZATION="Basic " + base64.b64encode(channel.feedback_credentials.encode()).decode())
    assert garbled.status_code == 400 and garbled["Content-Type"] == "application/problem+json"
    rotated = channels.channel_rotate(tenant=tenant_a.ref, channel_id=channel.id, actor="t")
    assert rotated.feedback_credentials and rotated.feedback_credentials != channel.feedback_credentials
    assert _post_events(client, channel, {"RecordType": "Open", "MessageID": "x"}, channel.feedback_credentials).status_code == 401


def test_a_signed_provider_webhook_is_verified_with_the_channels_signing_key(tenant_a, postmark, receiver, shoppers, client, console_as):
    """Mailgun's shape: an HMAC of timestamp and token with the webhook signing key, on top of basic auth.
    The key is set on the channel's console page, as an operator would."""
    import hashlib
    import hmac

    channel, template = postmark
    info = _send(tenant_a, channel, template, shoppers["ada"], "mg1")
    drain_once()
    mailgun = channels.channel_update(tenant=tenant_a.ref, channel_id=channel.id, actor="t", changes={
        "config": {"backend": "anymail.backends.mailgun.EmailBackend", "from_email": "Shop <news@shop.example.com>"}})
    timestamp, token = "1764000000", "a" * 50

    def event(key):
        signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
        return {"signature": {"timestamp": timestamp, "token": token, "signature": signature},
                "event-data": {"event": "delivered", "timestamp": 1764000000.5, "id": "e1", "recipient": "ada@example.com",
                               "message": {"headers": {"message-id": "pm-1"}}, "user-variables": {"cdp_delivery": info.delivery_id}}}

    assert mailgun.feedback_url == channel.feedback_url and not mailgun.has_feedback_signing_key
    # No signing key given: anymail falls back to the API key (the channel's secret), as Mailgun's older accounts sign.
    assert _post_events(client, channel, event("wrong-key"), channel.feedback_credentials).status_code == 401
    admin = console_as(Role.ADMIN)
    page = admin.get(f"/messages/channels/{channel.id}/").content.decode()
    assert 'name="feedback_signing_key"' in page and "None is stored" in page
    saved = admin.post(f"/messages/channels/{channel.id}/", {"action": "save", "name": channel.name, "from_email": "Shop <news@shop.example.com>",
                                                            "backend": "anymail.backends.mailgun.EmailBackend",
                                                            "feedback_signing_key": "mg-signing-key"}, follow=True).content.decode()
    assert "Saved" in saved and "One is stored" in saved and "mg-signing-key" not in saved
    assert _post_events(client, channel, event("server-token"), channel.feedback_credentials).status_code == 401
    assert _post_events(client, channel, event("mg-signing-key"), channel.feedback_credentials).status_code == 200
    assert selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id).status == "delivered"
    assert selectors.channel_get(tenant=tenant_a.ref, channel_id=channel.id).has_feedback_signing_key
