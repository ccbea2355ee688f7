"""A person in headless Chromium previews identity rules (HTMX, no reload) and sees a customer's identity graph."""
from __future__ import annotations

import pytest

from customers.services import customer_identify
from tenancy import services
from tenancy.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("lakehouse")]

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def shop(db):
    tenant = services.tenant_create(slug="shop", name="Shop", actor="test")
    services.member_set(tenant=tenant, email="op@example.com", role=Role.ADMIN, actor="test", password=PASSWORD)
    customer_identify(tenant=tenant, user_id="ada", anonymous_id="family-ipad", email="ada@example.com", traits={}, actor="test")
    customer_identify(tenant=tenant, user_id="bob", anonymous_id="family-ipad", email=None, traits={}, actor="test")
    return tenant


def _preview_on_the_rules_page(page, live_server) -> None:
    """Signed in on the rules page, with a first preview shown (and a marker a page load would clear)."""
    page.goto(live_server.url + "/signin/?next=/identity/rules/")
    page.fill("#id_username", "op@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Identity rules')")
    page.evaluate("window.__same_page = true")
    page.fill("#id_limits", "user_id=2, *=5")
    page.click("button[name=preview]")
    page.wait_for_selector("#preview >> text=Customers after")


def test_preview_rules_without_reload_and_see_the_graph(page, live_server, shop):
    _preview_on_the_rules_page(page, live_server)
    assert page.evaluate("window.__same_page === true"), "the preview arrived without a page load"
    row = page.locator("#preview tr", has_text="Customers after")
    assert row.inner_text().split()[-1] == "1", "with two user ids allowed, ada and bob's shared iPad joins them"

    page.goto(live_server.url + "/identity/")
    page.click("text=different user_id >> xpath=ancestor::tr >> a >> nth=0")
    page.wait_for_selector("svg.identity-graph")
    assert page.locator("svg.identity-graph circle").count() >= 3
    assert page.locator("svg.identity-graph line[data-state=conflict]").count() == 1


def test_an_htmx_request_the_server_refuses_shows_its_message_where_it_was_made(page, live_server, shop):
    from playwright.sync_api import expect

    _preview_on_the_rules_page(page, live_server)
    page.fill("#id_limits", "bogus")  # the server answers 422 with the form's error
    page.click("button[name=preview]")
    error = page.locator("form [data-request-error]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("limits")
    assert page.evaluate("window.__same_page === true"), "shown in place, without a page load"
    page.fill("#id_limits", "user_id=2, *=5")  # a request that succeeds clears it
    page.click("button[name=preview]")
    expect(error).to_be_hidden()
