"""The console's messaging pages without JavaScript (and the HTMX preview's fragment): deliveries
and one with its attempts, the template editor with a live preview for a real customer and its
errors by line, a test send landing in the local mailbox, channels with the secret shown once."""
from __future__ import annotations

import re

import pytest

from messaging.demo import demo_messaging_load
from tenancy.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


@pytest.fixture
def demo(tenant_a):
    assert demo_messaging_load(tenant=tenant_a.ref) == 4
    assert demo_messaging_load(tenant=tenant_a.ref) == 0  # once
    from messaging.selectors import channel_list, template_list

    return {t.name: t for t in template_list(tenant=tenant_a.ref)}, channel_list(tenant=tenant_a.ref)[0]


def test_a_template_is_previewed_for_a_customer_saved_and_test_sent_to_the_mailbox(console_as, demo, shoppers):
    templates, channel = demo
    welcome = templates["Welcome email"]
    client = console_as(Role.EDITOR)
    page = client.get(f"/messages/templates/{welcome.id}/").content.decode()
    assert "Welcome, {{ customer.first_name" in page.replace("&quot;", '"') and "Send a test" in page
    parts = {"part_subject": "Hi {{ customer.first_name }}", "part_html": "<p>{{ customer.first_name }} on {{ customer.plan }}</p>"}
    fragment = client.post(f"/messages/templates/{welcome.id}/preview/", {**parts, "customer": "ada@example.com"},
                           HTTP_HX_REQUEST="true").content.decode()
    assert "Hi Ada &lt;script&gt;" in fragment and "sandbox" in fragment  # escaped text; the HTML in a sandboxed frame
    assert "<script>" not in fragment
    whole = client.post(f"/messages/templates/{welcome.id}/preview/", {**parts, "customer": "ada@example.com"}).content.decode()
    assert "<h1>Welcome email</h1>" in whole and "Hi Ada &lt;script&gt;" in whole  # without JavaScript: the page, filled in
    broken = client.post(f"/messages/templates/{welcome.id}/preview/", {"part_subject": "{{ x | nope }}", "customer": "ada@example.com"},
                         HTTP_HX_REQUEST="true").content.decode()
    assert "subject, line 1: unknown filter" in broken
    refused = client.post(f"/messages/templates/{welcome.id}/", {"part_subject": "ok", "part_html": "<p>\n{% if %}</p>"}).content.decode()
    assert "line 2" in refused and 'aria-invalid="true"' in refused
    saved = client.post(f"/messages/templates/{welcome.id}/", parts, follow=True).content.decode()
    assert "Saved as version 2." in saved
    sent = client.post(f"/messages/templates/{welcome.id}/test/", {"channel": channel.id, "customer": "ada@example.com"},
                       follow=True).content.decode()
    assert "Test sent." in sent and "Attempts" in sent
    mailbox = console_as(Role.ADMIN).get("/messages/mailbox/").content.decode()
    assert "Hi Ada &lt;script&gt;" in mailbox and "to ada@example.com" in mailbox
    listed = client.get("/messages/?customer=ada@example.com").content.decode()
    assert listed.count('<span class="badge good">sent</span>') == 1
    assert "No messages match" in client.get("/messages/?status=failed").content.decode()


def test_channels_are_added_by_kind_by_admins_and_a_webhook_secret_is_shown_once(console_as, tenant_a):
    admin = console_as(Role.ADMIN)
    page = admin.get("/messages/channels/").content.decode()
    assert all(f'name="kind" value="{kind}"' in page for kind in ("email", "webhook", "sms", "table"))  # a form for each kind
    made = admin.post("/messages/channels/", {"name": "CRM hook", "kind": "webhook", "url": "https://hooks.example.com/cdp",
                                              "timeout_seconds": "5"}).content.decode()
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", made)
    assert secret and "shown this once" in made
    assert secret.group(0) not in admin.get("/messages/channels/").content.decode()
    bad = admin.post("/messages/channels/", {"name": "x", "kind": "webhook", "url": "not a url"}).content.decode()
    assert "The webhook channel was not added: url:" in bad and "<details open>" in bad
    refused = admin.post("/messages/channels/", {"name": "Mail", "kind": "email", "backend": "smtp",
                                                 "from_email": "News <news@example.com>"}).content.decode()
    assert "host is not right" in refused  # the service's check, naming the field
    made = admin.post("/messages/channels/", {"name": "Mail", "kind": "email", "backend": "smtp", "from_email": "News <news@example.com>",
                                              "host": "smtp.example.com", "port": "587", "security": "starttls", "track_opens": "on"})
    assert "Channel Mail added." in made.content.decode()
    from messaging.selectors import channel_list

    mail = next(c for c in channel_list(tenant=tenant_a.ref) if c.name == "Mail")
    assert mail.config["host"] == "smtp.example.com" and mail.config["track_opens"] and not mail.config["track_clicks"]
    assert console_as(Role.EDITOR).post("/messages/channels/", {"name": "y", "kind": "table"}).status_code == 403
    assert "CRM hook" in console_as(Role.VIEWER).get("/messages/channels/").content.decode()


def test_the_profile_shows_the_customers_messages_topics_and_suppressions(console_as, demo, shoppers, tenant_a):
    from messaging.services.drain import test_send
    from messaging.services.feedback import suppression_add

    templates, channel = demo
    test_send(tenant=tenant_a.ref, channel_id=channel.id, template_id=templates["Welcome email"].id, cdp_id=shoppers["ada"], actor="t")
    suppression_add(tenant=tenant_a.ref, kind="email", address="ADA@example.com", reason="asked by phone", actor="t")
    client = console_as(Role.VIEWER)
    profile = client.get(f"/customers/{shoppers['ada']}/").content.decode()
    assert f'hx-get="/messages/customers/{shoppers["ada"]}/"' in profile  # the card loads with the page
    card = client.get(f"/messages/customers/{shoppers['ada']}/").content.decode()
    assert "Welcome email" in card and "Demo mailbox" in card and '<span class="badge good">sent</span>' in card
    assert "Newsletter" in card and "Opt-in" in card  # the topic, and that ada does not receive it (no consent)
    assert "ada@example.com is suppressed for email: asked by phone" in card
    assert client.get("/messages/customers/cdp_nobody/").status_code == 404
    assert "No messages and no subscription topics" not in card


def test_a_test_send_from_the_console_is_followed_until_it_is_final(console_as, demo, shoppers, settings):
    """The send runs as a task; the message's page polls itself while it is on its way."""
    from messaging.models import Delivery

    templates, channel = demo
    from django_q.models import OrmQ

    settings.CDP_TASKS_INLINE = False  # queued for a worker that is not running: the page shows it on its way, and asks again
    page = console_as(Role.EDITOR).post(f"/messages/templates/{templates['Welcome email'].id}/test/",
                                        {"channel": channel.id, "customer": "ada@example.com"}, follow=True).content.decode()
    [task] = OrmQ.objects.all()
    assert task.task["func"] == "messaging.tasks.delivery_send_now"
    assert "Test queued" in page and 'hx-trigger="load delay:1s"' in page
    row = Delivery.objects.get()
    assert row.status == "queued"
    from messaging.tasks import delivery_send_now

    delivery_send_now(row.id)
    again = console_as(Role.EDITOR).get(f"/messages/deliveries/{row.id}/").content.decode()
    assert '<span class="badge good">sent</span>' in again and 'hx-trigger="load delay:1s"' not in again


def test_a_test_is_sent_from_the_channels_page(console_as, demo, shoppers):
    templates, channel = demo
    page = console_as(Role.EDITOR).get("/messages/channels/").content.decode()
    assert f'action="/messages/channels/{channel.id}/test/"' in page and "Welcome email" in page
    sent = console_as(Role.EDITOR).post(f"/messages/channels/{channel.id}/test/", {"template": templates["Welcome email"].id,
                                                                                  "customer": "ada@example.com"}, follow=True)
    assert "Test sent." in sent.content.decode() and "Attempts" in sent.content.decode()
    nobody = console_as(Role.EDITOR).post(f"/messages/channels/{channel.id}/test/", {"template": templates["Welcome email"].id,
                                                                                    "customer": "nobody@example.com"}, follow=True)
    assert "No customer nobody@example.com here" in nobody.content.decode()
    assert console_as(Role.VIEWER).post(f"/messages/channels/{channel.id}/test/", {"template": 1, "customer": "x"}).status_code == 403


def test_topics_are_listed_added_and_deleted_in_the_console(console_as, demo, tenant_a):
    from messaging.selectors import topic_list

    editor = console_as(Role.EDITOR)
    page = editor.get("/messages/topics/").content.decode()
    assert "Newsletter" in page and "<code>newsletter</code>" in page
    added = editor.post("/messages/topics/", {"name": "Weekly offers", "key": "offers", "channel_kind": "sms", "policy": "opt_out"},
                        follow=True).content.decode()
    assert "Topic Weekly offers added." in added and "Opt-out" in added
    again = editor.post("/messages/topics/", {"name": "Again", "key": "offers", "channel_kind": "sms", "policy": "opt_in"}).content.decode()
    assert "exists already" in again
    bad = editor.post("/messages/topics/", {"name": "Bad", "key": "not a slug!", "channel_kind": "email", "policy": "opt_in"}).content.decode()
    assert "The topic was not added: key:" in bad
    assert console_as(Role.VIEWER).post("/messages/topics/", {"name": "x", "key": "x", "channel_kind": "email",
                                                              "policy": "opt_in"}).status_code == 403
    offers = next(t for t in topic_list(tenant=tenant_a.ref) if t.key == "offers")
    gone = editor.post(f"/messages/topics/{offers.id}/delete/", follow=True).content.decode()
    assert "Topic deleted" in gone and "Weekly offers" not in gone


def test_sending_rules_are_set_in_a_form_and_a_refusal_keeps_what_was_typed(console_as, tenant_a):
    from messaging.services.policies import policy_get

    editor = console_as(Role.EDITOR)
    page = editor.get("/messages/rules/").content.decode()
    assert 'name="cap_0_kind"' in page and 'name="quiet_days"' in page and 'name="control_percent"' in page
    rules = {"cap_rows": "3", "cap_0_kind": "email", "cap_0_max": "3", "cap_0_days": "7", "cap_1_kind": "*", "cap_1_max": "10",
             "cap_1_days": "30", "cap_2_kind": "", "quiet_days": ["0", "1", "2", "3", "4"], "quiet_start": "21:00",
             "quiet_end": "08:00", "quiet_policy": "drop", "control_percent": "4"}
    saved = editor.post("/messages/rules/", rules, follow=True).content.decode()
    assert "Sending rules saved" in saved
    policy = policy_get(tenant=tenant_a.ref)
    assert policy.caps == [{"channel_kind": "email", "max": 3, "days": 7.0}, {"channel_kind": "*", "max": 10, "days": 30.0}]
    assert (policy.quiet_days, str(policy.quiet_start), str(policy.quiet_end), policy.quiet_policy, policy.control_percent) == \
        ([0, 1, 2, 3, 4], "21:00:00", "08:00:00", "drop", 4.0)
    again = editor.get("/messages/rules/").content.decode()  # the saved rules come back, with a free row for another cap
    assert 'name="cap_2_kind"' in again and 'value="21:00"' in again and "Last changed by" in again
    # Quiet days without hours, a cap without its window, a control group over half: each refused, nothing changed.
    for bad, message in [({"quiet_start": ""}, "Quiet hours need a start"), ({"cap_0_days": ""}, "Cap 1: give how many"),
                         ({"control_percent": "80"}, "control_percent")]:
        refused = editor.post("/messages/rules/", {**rules, **bad, "quiet_policy": "defer"})
        assert refused.status_code == 422 and message in refused.content.decode(), bad
        assert 'value="21:00"' in refused.content.decode() or "quiet_start" in bad
        assert policy_get(tenant=tenant_a.ref).quiet_policy == "drop"
    assert console_as(Role.VIEWER).post("/messages/rules/", rules).status_code == 403
    assert 'name="cap_0_kind"' in console_as(Role.VIEWER).get("/messages/rules/").content.decode()  # read, without a save button


def test_a_channel_is_edited_its_secret_rotated_and_turned_back_on_in_the_console(console_as, tenant_a, tenant_b):
    from messaging.models import Channel
    from messaging.selectors import channel_get
    from messaging.services.channels import channel_create, channel_disable, send_config

    hook = channel_create(tenant=tenant_a.ref, name="CRM hook", kind="webhook", actor="t",
                          config={"url": "https://hooks.example.com/cdp", "headers": {"Authorization": "Bearer s3cret"}})
    admin = console_as(Role.ADMIN)
    page = admin.get(f"/messages/channels/{hook.id}/").content.decode()
    assert 'value="https://hooks.example.com/cdp"' in page and "Now sent: Authorization" in page
    assert "s3cret" not in page and hook.secret not in page  # secrets are never shown back
    # Settings saved; an empty secret and empty headers keep what is stored.
    saved = admin.post(f"/messages/channels/{hook.id}/", {"action": "save", "name": "CRM", "url": "https://hooks.example.com/v2",
                                                          "timeout_seconds": "3", "rate_per_second": "5", "endpoint_rate_per_second": "2"},
                       follow=True)
    assert "Saved" in saved.content.decode()
    row = Channel.objects.get(id=hook.id)
    assert (row.name, send_config(row)["url"], send_config(row)["headers"], row.rate_per_second, row.endpoint_rate_per_second) == \
        ("CRM", "https://hooks.example.com/v2", {"Authorization": "Bearer s3cret"}, 5.0, 2.0)
    assert 'name="endpoint_rate_per_second" value="2.0"' in admin.get(f"/messages/channels/{hook.id}/").content.decode()
    replaced = admin.post(f"/messages/channels/{hook.id}/", {"action": "save", "name": "CRM", "url": "https://hooks.example.com/v2",
                                                             "headers": "X-Api-Key: k1\nX-Team: growth"})
    assert replaced.status_code == 302 and send_config(Channel.objects.get(id=hook.id))["headers"] == {"X-Api-Key": "k1", "X-Team": "growth"}
    bad = admin.post(f"/messages/channels/{hook.id}/", {"action": "save", "name": "CRM", "url": "https://hooks.example.com/v2",
                                                        "headers": "no colon here"})
    assert bad.status_code == 422 and "Line 1: a header is Name: value." in bad.content.decode()
    cleared = admin.post(f"/messages/channels/{hook.id}/", {"action": "save", "name": "CRM", "url": "https://hooks.example.com/v2",
                                                            "clear_headers": "on"})
    assert cleared.status_code == 302 and send_config(Channel.objects.get(id=hook.id))["headers"] == {}
    # Rotation: the new secret once, the old one still signing for the overlap.
    rotated = admin.post(f"/messages/channels/{hook.id}/", {"action": "rotate"}).content.decode()
    new_secret = re.search(r"whsec_[A-Za-z0-9+/=]+", rotated).group(0)
    assert new_secret != hook.secret and "shown this once" in rotated and channel_get(tenant=tenant_a.ref, channel_id=hook.id).rotating_until
    assert new_secret not in admin.get(f"/messages/channels/{hook.id}/").content.decode()
    # Disabled by the drain (a 410), turned back on by hand.
    channel_disable(Channel.objects.get(id=hook.id), "the endpoint answered 410 Gone")
    assert "the endpoint answered 410 Gone" in admin.get(f"/messages/channels/{hook.id}/").content.decode()
    admin.post(f"/messages/channels/{hook.id}/", {"action": "enable"})
    assert Channel.objects.get(id=hook.id).disabled_reason == ""
    # Editors and viewers see it and cannot change it; another tenant's channel is not found.
    assert console_as(Role.EDITOR).post(f"/messages/channels/{hook.id}/", {"action": "rotate"}).status_code == 403
    assert "Rotate" not in console_as(Role.VIEWER).get(f"/messages/channels/{hook.id}/").content.decode()
    other = channel_create(tenant=tenant_b.ref, name="theirs", kind="table", actor="t", config={})
    assert admin.get(f"/messages/channels/{other.id}/").status_code == 404
