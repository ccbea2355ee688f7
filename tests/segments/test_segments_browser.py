"""The segment builder in headless Chromium: conditions added, negated and removed with HTMX from
what the tenant has sent, the live count following each change, and the saved segment's page."""
from __future__ import annotations

import pytest

from customers.services import customer_identify
from tenancy import services
from tenancy.roles import Role
from tests.browser import sign_in
from tests.conftest import ApiClient
from tracking.loader import load_inbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("lakehouse")]
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def shop(db):
    tenant = services.tenant_create(slug="shop", name="Shop", actor="test")
    services.member_set(tenant=tenant, email="op@example.com", role=Role.EDITOR, actor="test", password=PASSWORD)
    for n in range(4):
        customer_identify(tenant=tenant, user_id=f"u{n}", anonymous_id="", email="", traits={"plan": "pro" if n % 2 else "free"}, actor="test")
    _, key = services.write_key_create(tenant=tenant, actor="test", name="web")
    sdk = ApiClient.for_write_key(key)
    sdk.post("/api/v1/track", {"userId": "u1", "event": "Order Completed", "properties": {"revenue": 10}, "messageId": "o1"})
    load_inbox()
    return tenant


def test_building_a_segment_in_chromium(page, live_server, shop):
    # Under the console's policy (no inline styles or scripts): any violation fails the test.
    page.add_init_script("window.__violations = []; document.addEventListener('securitypolicyviolation', "
                         "(e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));")
    sign_in(page, live_server, "op@example.com", PASSWORD)
    page.click("nav.mainnav >> text=Segments")
    page.click("text=New segment")
    page.fill("#id_name", "Pro buyers")
    page.select_option("#add-condition", "event")
    page.fill("input[name=term]", "Order Completed")
    page.click("#builder button:has-text('Add')")
    page.wait_for_selector("#builder li:has-text('Order Completed')")
    page.wait_for_selector("#preview:has-text('1 customer now')")
    page.select_option("#add-condition", "trait")
    page.fill("input[name=term]", "plan")
    page.click("#builder button:has-text('Add')")
    page.wait_for_selector("#builder li:has-text('plan is set')")
    page.wait_for_selector("#preview:has-text('1 customer now')")
    assert page.evaluate("window.__violations") == [], "the tree is indented by classes, not inline styles"
    page.click("#builder li:has-text('plan is set') >> button:has-text('not')")
    page.wait_for_selector("#builder li[data-path='$.all[1]'] strong:text-is('Not')")
    page.wait_for_selector("#preview:has-text('0 customers now')")
    page.click("#builder li[data-path='$.all[1]'] >> button:has-text('remove')")
    page.wait_for_selector("#preview:has-text('1 customer now')")
    page.wait_for_selector("#builder li[data-path='$.all[0]']:has-text('Order Completed')")
    assert page.locator("#builder li:has-text('plan')").count() == 0
    # Values are edited in the JSON: the count follows as one types.
    assert page.locator("#id_definition").is_visible(), "the JSON is shown once there are conditions"
    text = page.input_value("#id_definition").replace('"within_days": 30', '"within_days": 1')
    page.fill("#id_definition", text.replace('"Order Completed"', '"Never Sent"'))
    page.type("#id_definition", " ")
    page.wait_for_selector("#preview:has-text('0 customers now')")
    page.fill("#id_definition", text)
    page.type("#id_definition", " ")
    page.wait_for_selector("#preview:has-text('1 customer now')")
    page.click("button:has-text('Create and refresh')")
    page.wait_for_selector("h1:has-text('Pro buyers')")
    page.wait_for_selector("text=1 member")
    assert page.evaluate("window.__violations") == []
    page.click("a:has-text('why')")
    page.wait_for_selector("text=Yes, now")
    assert page.evaluate("window.__violations") == []
