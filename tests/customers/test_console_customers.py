"""The customer console without JavaScript: search, profile, trait edits, consent, erasure, computed traits."""
from __future__ import annotations

import re

import pytest

from tenancy.roles import Role
from tests.conftest import ApiClient
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]



@pytest.fixture
def console(console_as):
    return lambda role=Role.EDITOR: console_as(role)


@pytest.fixture
def grace(sdk, tenant_a):
    calls = [{"type": "identify", "userId": "grace", "messageId": "g1", "timestamp": "2026-02-01T10:00:00Z",
              "traits": {"email": "grace@example.com", "name": "Grace Hopper", "city": "Arlington"}},
             {"type": "track", "userId": "grace", "event": "Checkout Started", "messageId": "g2", "timestamp": "2026-02-01T10:05:00Z",
              "properties": {"items": 3, "values": [1, 2]}}]
    calls += [{"type": "page", "userId": "grace", "name": f"Page {n}", "messageId": f"gp{n}", "timestamp": f"2026-02-02T10:{n:02d}:00Z"}
              for n in range(40)]
    assert sdk.post("/api/v1/batch", {"batch": calls}).json()["accepted"] == 42
    sdk.post("/api/v1/batch", {"batch": [{"type": "identify", "userId": "alan", "messageId": "a1", "traits": {"name": "Alan Turing"}}]})
    load_inbox()
    return ApiClient(token=tenant_a.keys[Role.ADMIN], tenant=tenant_a.slug).get(
        "/api/customers/lookup?type=user_id&value=grace").json()["cdp_id"]


def test_search_finds_by_trait_and_htmx_gets_only_the_results(console, grace):
    client = console(Role.VIEWER)
    page = client.get("/customers/?q=hopper").content.decode()
    assert "Grace Hopper" in page and "Alan Turing" not in page and "<html" in page
    fragment = client.get("/customers/?q=turing", headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<div id="customer-results">') and "Alan Turing" in fragment
    assert "No customer matches" in client.get("/customers/?q=nobody-at-all").content.decode()


def test_profile_shows_traits_timeline_with_paging_and_activity(console, grace):
    client = console(Role.VIEWER)
    page = client.get(f"/customers/{grace}/").content.decode()
    assert "Grace Hopper" in page and "Arlington" in page
    assert "Older events" in page, "42 events page by 30"
    assert '<svg class="bar-chart"' in page and "Table view" in page, "the activity chart, with its table"
    assert re.search(r'<text class="axis"[^>]*>\d+ [A-Z][a-z]{2}</text>', page), "day labels on the x axis"
    more = client.get(f"/customers/{grace}/timeline/?offset=30", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in more and "Page 9" in more and "items: 3" in more and "Older events" not in more
    assert client.get("/customers/cdp_nobody/").status_code == 404


def test_editing_a_trait_is_an_identify_from_the_console(console, grace, tenant_a):
    client = console()
    response = client.post(f"/customers/{grace}/traits/", {"key": "plan", "value": "pro"}, follow=True)
    assert "Set plan." in response.content.decode()
    profile = ApiClient(token=tenant_a.keys[Role.ADMIN], tenant=tenant_a.slug).get(f"/api/customers/{grace}").json()
    assert {"key": "plan", "value": "pro", "source": "console"}.items() <= next(t for t in profile["traits"] if t["key"] == "plan").items()
    bad = client.post(f"/customers/{grace}/traits/", {"key": "no spaces allowed", "value": "x"})
    assert bad.status_code == 422 and "letters, digits" in bad.content.decode()
    client.post(f"/customers/{grace}/traits/unset/", {"key": "city"})
    assert "Arlington" not in client.get(f"/customers/{grace}/").content.decode()


def test_viewers_cannot_change_customers(console, grace):
    client = console(Role.VIEWER)
    assert client.post(f"/customers/{grace}/traits/", {"key": "plan", "value": "pro"}).status_code == 403
    assert client.post(f"/customers/{grace}/erase/", {"confirm": grace}).status_code == 403
    assert "Erase customer" not in client.get(f"/customers/{grace}/").content.decode()


def test_erasure_needs_the_id_typed_and_then_removes_the_customer(console, grace):
    client = console()
    refused = client.post(f"/customers/{grace}/erase/", {"confirm": "yes"})
    assert refused.status_code == 422 and f"Type {grace} exactly" in refused.content.decode()
    assert client.get(f"/customers/{grace}/").status_code == 200
    done = client.post(f"/customers/{grace}/erase/", {"confirm": grace}, follow=True)
    assert f"Erased {grace}" in done.content.decode()
    assert client.get(f"/customers/{grace}/").status_code == 404


def test_consent_and_suppression_from_the_profile(console, grace):
    client = console()
    client.post(f"/customers/{grace}/consent/", {"channel": "email", "purpose": "marketing", "granted": "false"})
    client.post(f"/customers/{grace}/suppress/")
    page = client.get(f"/customers/{grace}/").content.decode()
    assert "denied" in page and "suppressed" in page and "Stop suppressing" in page


def test_computed_traits_page_creates_and_explains_mistakes(console, grace):
    client = console()
    bad = client.post("/customers/computed-traits/", {"name": "ltv", "aggregation": "sum"})
    assert bad.status_code == 422 and "needs the event property" in bad.content.decode()
    created = client.post("/customers/computed-traits/", {"name": "pages", "aggregation": "count", "event_type": "page"}, follow=True)
    assert "pages is saved; it is being computed for every customer" in created.content.decode()
    assert "40" in client.get(f"/customers/{grace}/").content.decode()
