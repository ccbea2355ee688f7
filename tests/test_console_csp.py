"""Every console page runs under a strict Content-Security-Policy without a violation, and text a
user or an SDK sets cannot run as script: the stored XSS of the Members page is gone."""
from __future__ import annotations

import pytest

from customers.services import customer_identify
from tenancy import services
from tenancy.roles import Role
from tests.browser import console_pages

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("lakehouse")]

PASSWORD = "correct-horse-battery-staple"
HOSTILE = "x'+alert(document.domain)+'@acme.test"
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
"""


@pytest.fixture
def shop(db):
    tenant = services.tenant_create(slug="shop", name="Shop", actor="test")
    services.member_set(tenant=tenant, email="op@example.com", role=Role.ADMIN, actor="test", password=PASSWORD)
    services.member_set(tenant=tenant, email=HOSTILE, role=Role.VIEWER, actor="test")
    services.write_key_create(tenant=tenant, name="<script>alert(1)</script>", actor="test")
    profile = customer_identify(tenant=tenant, user_id="ada", anonymous_id="a'+alert(1)+'", email="ada@example.com",
                                traits={"name": "<img src=x onerror=alert(1)>"}, actor="test")
    return profile.cdp_id


def _sign_in(page, live_server):
    page.add_init_script(LISTEN)
    page.goto(live_server.url + "/signin/")
    page.fill("#id_username", "op@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")


def test_every_console_page_runs_under_the_policy_without_a_violation(page, live_server, shop):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append((dialog.type, dialog.message)), dialog.dismiss()))
    _sign_in(page, live_server)
    pages = ["/", "/customers/", f"/customers/{shop}/", "/customers/computed-traits/", "/identity/", "/identity/rules/",
             "/events/", "/operations/", "/settings/members/", "/settings/api-keys/", "/settings/write-keys/"]
    for path in pages:
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        page.wait_for_load_state("load")
        assert page.evaluate("window.__violations") == [], (path, page.evaluate("window.__violations"))
    assert dialogs == [], "no hostile value ran as script"


def test_a_hostile_member_email_is_text_in_the_remove_confirmation_never_script(page, live_server, shop):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append((dialog.type, dialog.message)), dialog.dismiss()))
    _sign_in(page, live_server)
    page.goto(live_server.url + "/settings/members/")
    page.click(f"tr:has-text(\"{HOSTILE}\") >> button:has-text('Remove')")
    assert dialogs == [("confirm", f"Remove {HOSTILE} from this tenant?")], dialogs
    assert HOSTILE in page.content(), "dismissing the confirmation removed nobody"
    assert page.evaluate("window.__violations") == []


@pytest.mark.parametrize(("path", "rendered"), [("/api/docs", ".swagger-ui .info .title"), ("/api/redoc", "#redoc-ui h1")])
def test_the_api_docs_run_under_the_policy_from_this_site_only(page, live_server, path, rendered):
    elsewhere = []
    page.on("response", lambda response: None if response.url.startswith((live_server.url, "data:", "blob:"))
            else elsewhere.append(response.url))  # what was fetched; a request the policy refused gets no response
    page.add_init_script(LISTEN)
    response = page.goto(live_server.url + path)
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
    page.wait_for_selector(rendered)
    assert "Customer Data Platform API" in page.inner_text(rendered)
    page.wait_for_load_state("networkidle")
    # ReDoc always asks for its maker's logo from cdn.redoc.ly; the policy refuses it (and ReDoc
    # then hides the image), which is the point: the docs load nothing from another host.
    blocked_branding = "img-src https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert [v for v in page.evaluate("window.__violations") if v != blocked_branding] == []
    assert elsewhere == [], "nothing fetched from another host"


# What a user or an SDK may send, in every field they can set: markup, attribute breakouts, script
# URLs and spreadsheet formulas.
HOSTILE_VALUES = ['"><script>alert(1)</script>', "javascript:alert(1)", "' onmouseover='alert(1)", "<svg onload=alert(1)>",
                  '=HYPERLINK("https://evil.test","x")']


@pytest.fixture
def hostile_everywhere(shop):
    import base64
    import json

    from tenancy.selectors import tenant_get
    from tests.conftest import ApiClient
    from tracking import debugger
    from tracking.loader import load_inbox

    tenant = tenant_get(slug="shop")
    _, admin_key = services.api_key_create(tenant=tenant, name=HOSTILE_VALUES[0], role=Role.ADMIN, actor=HOSTILE_VALUES[2])
    _, write_key = services.write_key_create(tenant=tenant, name=HOSTILE_VALUES[3], actor="test")
    api = ApiClient(token=admin_key)
    user_id = HOSTILE_VALUES[0]
    traits = {value: value for value in HOSTILE_VALUES} | {"website": "javascript:alert(1)", "nested": {"<b>x</b>": HOSTILE_VALUES}}
    created = api.post("/api/customers", {"user_id": user_id, "traits": traits})
    assert created.status_code == 201, created.content
    cdp_id = created.json()["cdp_id"]
    api.put(f"/api/customers/{cdp_id}/consent", {"channel": "email", "purpose": HOSTILE_VALUES[2], "granted": True})
    calls = [
        {"type": "track", "userId": user_id, "event": value, "messageId": f"t{i}",
         "properties": {value: value, "url": "javascript:alert(1)"}, "context": {"page": {"url": "javascript:alert(1)", "title": value},
                                                                                   "userAgent": value}}
        for i, value in enumerate(HOSTILE_VALUES)
    ] + [
        {"type": "page", "userId": user_id, "name": HOSTILE_VALUES[3], "messageId": "p1", "properties": {"url": "javascript:alert(1)"}},
        {"type": "identify", "anonymousId": HOSTILE_VALUES[2], "userId": user_id, "messageId": "i1", "traits": {"email": "x@example.com"}},
        {"type": "alias", "previousId": HOSTILE_VALUES[4], "userId": user_id, "messageId": "a1"},
        {"type": "group", "userId": user_id, "groupId": HOSTILE_VALUES[1], "messageId": "g1", "traits": {"name": HOSTILE_VALUES[0]}},
    ]
    basic = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    debugger.watch(tenant.id)  # the live event view records these calls too
    sent = ApiClient(Authorization=basic).post("/api/v1/batch", json.dumps({"batch": calls}))
    assert sent.status_code == 200, sent.content
    load_inbox()
    return cdp_id


def test_hostile_values_in_every_field_render_as_text_on_every_page(page, live_server, shop, hostile_everywhere):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append((dialog.type, dialog.message)), dialog.dismiss()))
    _sign_in(page, live_server)
    pages = [*console_pages(hostile_everywhere), "/customers/?q=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
             f"/customers/{hostile_everywhere}/timeline/"]
    for path in pages:
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        page.wait_for_load_state("load")
        # The page's own markup holds no handler attribute, no script URL, no inline script: what
        # an SDK sent is text, whatever the CSP would have blocked anyway.
        assert page.locator("xpath=//*[@*[starts-with(name(), 'on')]]").count() == 0, path
        assert page.locator("[href^='javascript:' i], [src^='javascript:' i], [action^='javascript:' i]").count() == 0, path
        assert page.locator("script:not([src]):not([type='application/json'])").count() == 0, path
        assert page.evaluate("window.__violations") == [], (path, page.evaluate("window.__violations"))
    profile = page.goto(live_server.url + f"/customers/{hostile_everywhere}/")
    assert profile.status == 200
    text = page.inner_text("main")
    assert HOSTILE_VALUES[0] in text and "javascript:alert(1)" in text, "the values are shown, as text"
    page.goto(live_server.url + "/events/")
    assert HOSTILE_VALUES[3] in page.inner_text("main"), "the live event view shows the hostile calls, as text"
    assert dialogs == []
