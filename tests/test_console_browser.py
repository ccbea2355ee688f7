"""A person in headless Chromium: sign in, switch tenant, create an API key and see it once, sign out."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from tenancy import services
from tenancy.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def operator(db):
    for slug, name in (("north", "North Shop"), ("south", "South Shop")):
        tenant = services.tenant_create(slug=slug, name=name, actor="test")
        services.member_set(tenant=tenant, email="op@example.com", role=Role.ADMIN, actor="test", password=PASSWORD)
    return get_user_model().objects.get(username="op@example.com")


def test_sign_in_switch_tenant_create_key_once_and_sign_out(page, live_server, operator):
    page.goto(live_server.url + "/")
    assert "/signin/" in page.url
    page.fill("#id_username", "op@example.com")
    page.fill("#id_password", "wrong password")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").is_visible()

    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('North Shop')")

    page.select_option("#tenant-select", "south")
    page.wait_for_selector("h1:has-text('South Shop')")

    page.click("nav.mainnav >> text=Settings")
    page.click("nav.tabs >> text=API keys")
    page.fill("#id_name", "browser key")
    page.select_option("#id_role", "editor")
    page.click("button:has-text('Create API key')")
    secret = page.locator("#new-secret").inner_text().strip()
    assert re.fullmatch(r"cdp_ak_[a-z0-9]{8}_[A-Za-z0-9_\-]{32}", secret)
    assert page.locator("td:has-text('browser key')").count() == 1  # HTMX swapped the table in place

    page.reload()
    assert page.locator("#new-secret").count() == 0
    assert secret not in page.content()
    assert secret[:15] in page.content()

    page.click("text=Sign out")
    page.wait_for_url(re.compile(r".*/signin/"))
    page.goto(live_server.url + "/settings/api-keys/")
    assert "/signin/" in page.url

