"""A person in headless Chromium finds a customer by live search, edits a trait, and pages the timeline."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from customers.services import customer_identify
from tenancy import services
from tenancy.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("lakehouse")]

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def shop(db):
    tenant = services.tenant_create(slug="shop", name="Shop", actor="test")
    services.member_set(tenant=tenant, email="op@example.com", role=Role.EDITOR, actor="test", password=PASSWORD)
    for name in ("Ada Lovelace", "Grace Hopper", "Alan Turing"):
        customer_identify(tenant=tenant, user_id=name.split()[0].lower(), anonymous_id=None, email=f"{name.split()[0].lower()}@example.com",
                          traits={"name": name}, actor="test")
    return get_user_model().objects.get(username="op@example.com")


def test_live_search_then_edit_a_trait(page, live_server, shop):
    page.goto(live_server.url + "/signin/?next=/customers/")
    page.fill("#id_username", "op@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Customers')")
    assert page.locator("#customer-results tbody tr").count() == 3

    page.fill("#customer-search", "hopp")  # no Enter: HTMX searches as the person types
    # Playwright's own wait (a string predicate would be eval'd in the page, which its CSP refuses).
    expect(page.locator("#customer-results tbody tr")).to_have_count(1)
    assert "q=hopp" in page.url, "the search is in the address, so it can be shared and survives a reload"

    page.click("#customer-results >> text=Grace Hopper")
    page.wait_for_selector("h1:has-text('Grace Hopper')")
    page.fill("#trait-key", "plan")
    page.fill("#trait-value", "enterprise")
    page.click("button:has-text('Set trait')")
    page.wait_for_selector("text=Set plan.")
    row = page.locator("tr", has=page.locator("code", has_text="plan"))
    assert "enterprise" in row.inner_text() and "console" in row.inner_text()
