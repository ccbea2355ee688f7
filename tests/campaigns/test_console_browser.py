"""A marketer in headless Chromium fills the campaign editor: the side panel counts who it reaches
as the form changes, and the preview box renders every variant for the customer typed in."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from customers.services import customer_identify
from messaging.services import channels, templates, topics
from segments.services import segment_create, segment_refresh
from tenancy import services
from tenancy.roles import Role
from tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("lakehouse")]

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def shop(db):
    tenant = services.tenant_create(slug="shop", name="Shop", actor="test")
    services.member_set(tenant=tenant, email="op@example.com", role=Role.EDITOR, actor="test", password=PASSWORD)
    for name in ("Ada", "Grace", "Alan"):
        customer_identify(tenant=tenant, user_id=name.lower(), anonymous_id=None, email=f"{name.lower()}@example.com",
                          traits={"first_name": name}, actor="test")
    segment = segment_create(tenant=tenant, name="Everyone with email", definition={"type": "identifier", "id_type": "email"}, actor="t")
    segment_refresh(tenant=tenant, segment_id=segment.id, trigger="test")
    channels.channel_create(tenant=tenant, name="News mail", kind="email", actor="t", config={"backend": "file", "from_email": "a@b.example"})
    for key in ("A", "B"):
        templates.template_create(tenant=tenant, name=f"Subject {key}", channel_kind="email", actor="t",
                                  parts={"subject": f"{key} for {{{{ customer.first_name }}}}", "html": f"<p>{key}</p>"})
    topics.topic_create(tenant=tenant, key="news", name="News", channel_kind="email", policy="opt_out", actor="t")


def test_the_panel_follows_the_form_and_previews_for_a_customer(shop, page, live_server):  # the data first: no server thread yet
    sign_in(page, live_server, "op@example.com", PASSWORD)
    page.goto(live_server.url + "/campaigns/new/")
    page.wait_for_selector("h1:has-text('New campaign')")
    expect(page.locator("#reach")).to_contain_text("Choose an audience")
    page.fill("#id_name", "Winter")
    page.check("text=Everyone with email")
    page.select_option("#id_channel_id", label="News mail (email)")
    page.fill("#id_topic", "news")
    page.select_option("#id_variant_1_template", label="Subject A (email)")
    page.select_option("#id_variant_2_template", label="Subject B (email)")
    expect(page.locator("#reach")).to_contain_text("reachable of 3 in the segments")  # HTMX: no button pressed
    expect(page.locator("#reach a", has_text="Edit the template").first).to_have_attribute("target", "_blank")

    page.fill("#preview-for", "grace@example.com")  # typed, not submitted
    expect(page.locator("#reach")).to_contain_text("For grace@example.com")
    expect(page.locator("#reach")).to_contain_text("A for Grace")
    expect(page.locator("#reach")).to_contain_text("B for Grace")
    page.fill("#id_holdout_percent", "0")
    page.locator("#id_holdout_percent").dispatch_event("change")  # a change to the form keeps the customer's preview
    expect(page.locator("#reach")).to_contain_text("In the audience: gets variant")
    expect(page.locator("#reach")).to_contain_text("A for Grace")
