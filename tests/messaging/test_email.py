"""Email through a real SMTP server on loopback (aiosmtpd): a stable Message-ID, one-click
unsubscribe headers and link, escaped customer text, a text part made from the HTML, inlined
CSS; and what is decided at send time: consent for the topic, categories, suppression."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from messaging import selectors
from messaging.services import channels, outbox, templates, topics
from messaging.services.drain import drain_once
from messaging.types import SendRequest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]
HTML = """<html><head><style>.hi { color: #c00 }</style></head><body>
<p class="hi">Hello {{ customer.first_name }},</p><p>Your plan: {{ customer.plan | default: "free" }}.</p>
<p><a href="https://shop.example.com/offers">See the offers</a></p>
<p><a href="{{ message.unsubscribe_url }}">Unsubscribe</a></p></body></html>"""


@pytest.fixture
def mail(tenant_a, smtp_server):
    channel = channels.channel_create(tenant=tenant_a.ref, name="News mail", kind="email", actor="t", secret="",
                                      config={"backend": "smtp", "host": "127.0.0.1", "port": smtp_server.port, "security": "none",
                                              "from_email": "Shop <news@shop.example.com>"})
    template = templates.template_create(tenant=tenant_a.ref, name="Offers", channel_kind="email", actor="t",
                                         parts={"subject": "Offers for {{ customer.first_name }}", "html": HTML})
    topics.topic_create(tenant=tenant_a.ref, key="news", name="News and offers", channel_kind="email", policy="opt_in", actor="t")
    return channel, template


def _send(tenant_a, mail, cdp_id, key, category="marketing"):
    channel, template = mail
    return outbox.delivery_enqueue(tenant=tenant_a.ref, request=SendRequest(
        key=key, channel_id=channel.id, template_id=template.id, cdp_id=cdp_id, category=category,
        topic="news" if category == "marketing" else "", source="test"))[0]


def _status(tenant_a, info):
    row = selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id)
    return row.status, row.reason


def test_marketing_mail_needs_consent_and_carries_one_click_unsubscribe(tenant_a, mail, smtp_server, shoppers, admin, client):
    from customers.services import customer_consent_set

    no_consent = _send(tenant_a, mail, shoppers["ada"], "m1")
    drain_once()
    assert _status(tenant_a, no_consent) == ("skipped", "no consent for email news (opt-in)")
    customer_consent_set(tenant=tenant_a.ref, cdp_id=shoppers["ada"], channel="email", purpose="news", granted=True, actor="t")
    sent = _send(tenant_a, mail, shoppers["ada"], "m2")
    drain_once()
    assert _status(tenant_a, sent) == ("sent", "")
    [message] = smtp_server.inbox.messages
    assert message["To"] == "ada@example.com" and message["Subject"] == "Offers for Ada <script>"
    assert message["Message-ID"] == f"<{sent.delivery_id}@shop.example.com>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = str(message["List-Unsubscribe"]).strip().strip("<>")
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "Ada &lt;script&gt;" in html and "<script>" not in html  # customer text escaped in HTML
    assert 'style="color: #c00' in html  # CSS inlined
    assert "Hello Ada <script>," in text and "See the offers (https://shop.example.com/offers)" in text
    assert link in html.replace("&amp;", "&") and link.startswith("http://localhost:8000/m/unsubscribe/")

    # One click (RFC 8058): a POST from the mail client, no session, no CSRF token.
    path = link.removeprefix("http://localhost:8000")
    assert "Unsubscribe?" in client.get(path).content.decode()  # GET only asks: scanners follow links
    done = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "You are unsubscribed" in done.content.decode()
    after = _send(tenant_a, mail, shoppers["ada"], "m3")
    drain_once()
    assert _status(tenant_a, after) == ("skipped", "no consent for email news (opt-in)")
    forged = client.post(path[:-6] + "AAAAA/")
    assert forged.status_code == 400 and "does not work" in forged.content.decode()


def test_an_expired_unsubscribe_link_is_refused(tenant_a, client, shoppers, monkeypatch):
    from messaging.services import links

    token = links.unsubscribe_token(tenant_id=tenant_a.ref.id, cdp_id=shoppers["ada"], kind="email", topic="news")
    monkeypatch.setattr(links, "MAX_AGE", links.MAX_AGE * 0 - links.MAX_AGE)  # every token is too old
    assert client.post(f"/m/unsubscribe/{token}/").status_code == 400


def test_transactional_mail_skips_consent_but_not_suppression(tenant_a, mail, smtp_server, shoppers, admin):
    receipt = _send(tenant_a, mail, shoppers["bob"], "t1", category="transactional")
    drain_once()
    assert _status(tenant_a, receipt) == ("sent", "")
    assert "List-Unsubscribe" not in smtp_server.inbox.messages[0]
    assert admin.post(f"/api/customers/{shoppers['bob']}/suppress").status_code == 200
    blocked = _send(tenant_a, mail, shoppers["bob"], "t2", category="transactional")
    drain_once()
    assert _status(tenant_a, blocked) == ("skipped", "suppressed")
    nowhere = _send(tenant_a, mail, shoppers["cy"], "t3", category="transactional")
    drain_once()
    assert _status(tenant_a, nowhere) == ("skipped", "invalid address: none")
    assert len(smtp_server.inbox.messages) == 1


def test_a_refused_connection_is_retried(tenant_a, shoppers):
    from tests.servers import free_port

    channel = channels.channel_create(tenant=tenant_a.ref, name="Down", kind="email", actor="t",
                                      config={"backend": "smtp", "host": "127.0.0.1", "port": free_port(), "security": "none",
                                              "from_email": "a@shop.example.com"})
    template = templates.template_create(tenant=tenant_a.ref, name="R", channel_kind="email", actor="t", parts={"subject": "Hi"})
    info = outbox.delivery_enqueue(tenant=tenant_a.ref, request=SendRequest(key="r", channel_id=channel.id, template_id=template.id,
                                                                            cdp_id=shoppers["bob"], category="transactional"))[0]
    now = timezone.now()
    drain_once(now=now)
    status, reason = _status(tenant_a, info)
    assert status == "retrying" and "ConnectionRefusedError" in reason
    assert datetime.now(UTC) < selectors.delivery_get(tenant=tenant_a.ref, delivery_id=info.id).next_attempt_at


def test_erasure_reaches_the_outbox(tenant_a, mail, smtp_server, shoppers, admin):
    from messaging.models import Delivery, DeliveryEvent

    _send(tenant_a, mail, shoppers["bob"], "e1", category="transactional")
    drain_once()
    assert Delivery.objects.filter(cdp_id=shoppers["bob"]).count() == 1
    assert admin.post(f"/api/customers/{shoppers['bob']}/erase", {"confirm": shoppers["bob"]}).status_code == 200
    _send(tenant_a, mail, shoppers["bob"], "e2", category="transactional")  # a journey asking after the erasure
    drain_once()  # skipped (no such customer), then the sweep: nothing about them is kept
    assert not Delivery.objects.filter(cdp_id=shoppers["bob"]).exists()
    assert not DeliveryEvent.objects.filter(cdp_id=shoppers["bob"]).exists()
    assert admin.get(f"/api/messaging/deliveries?cdp_id={shoppers['bob']}").json()["total"] == 0
    assert len(smtp_server.inbox.messages) == 1


def test_the_preference_page_sets_topics_and_refuses_forged_or_expired_links(tenant_a, mail, smtp_server, shoppers, client,
                                                                             monkeypatch):
    from customers.selectors import customer_get
    from messaging.services import links

    channel, template = mail
    offers = topics.topic_create(tenant=tenant_a.ref, key="offers", name="Weekly offers", channel_kind="email", policy="opt_out",
                                 actor="t")
    templates.template_update(tenant=tenant_a.ref, template_id=template.id, actor="t",
                              parts={"subject": "Hi", "html": '<a href="{{ message.preferences_url }}">Your choices</a>'})
    offer = outbox.delivery_enqueue(tenant=tenant_a.ref, request=SendRequest(
        key="pref1", channel_id=channel.id, template_id=template.id, cdp_id=shoppers["bob"], topic="offers", source="test"))[0]
    drain_once()  # opt-out: bob receives it without having said anything
    assert _status(tenant_a, offer) == ("sent", "")
    html = smtp_server.inbox.messages[0].get_body(("html",)).get_content()
    url = html.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert url.startswith("http://localhost:8000/m/preferences/")
    path = url.removeprefix("http://localhost:8000")

    page = client.get(path)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Weekly offers" in body and "News and offers" in body
    assert f'value="{offers.id}" checked' in body  # opt-out: receiving until they say no
    news = next(t for t in topics_of(tenant_a) if t.key == "news")
    assert f'value="{news.id}">' in body  # opt-in: not receiving until they say yes
    saved = client.post(path, {"topic": [str(news.id)]})  # yes to news, no to offers
    assert saved.status_code == 200 and "Saved" in saved.content.decode()
    consents = {(c.channel, c.purpose): c.granted for c in customer_get(tenant=tenant_a.ref, cdp_id=shoppers["bob"]).consents}
    assert consents == {("email", "news"): True, ("email", "offers"): False}
    again = outbox.delivery_enqueue(tenant=tenant_a.ref, request=SendRequest(
        key="pref2", channel_id=channel.id, template_id=template.id, cdp_id=shoppers["bob"], topic="offers", source="test"))[0]
    drain_once()
    assert _status(tenant_a, again) == ("skipped", "unsubscribed from email offers")

    assert client.get(path[:-8] + "abcdefg/").status_code == 400  # changed
    unsubscribe = links.unsubscribe_token(tenant_id=tenant_a.ref.id, cdp_id=shoppers["bob"], kind="email", topic="news")
    assert client.get(f"/m/preferences/{unsubscribe}/").status_code == 400  # another link's token is not this one's
    monkeypatch.setattr(links, "MAX_AGE", -links.MAX_AGE)
    assert client.post(path, {"topic": []}).status_code == 400  # expired
    assert ("email", "news") in consents


def topics_of(tenant_a):
    from messaging.selectors import topic_list

    return topic_list(tenant=tenant_a.ref)
