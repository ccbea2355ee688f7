"""The identity console: the graph on the profile, merge log and conflicts, rules with preview, un-merge."""
from __future__ import annotations

import pytest

from tenancy.roles import Role
from tests.conftest import ApiClient
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]



@pytest.fixture
def console(console_as):
    return lambda role=Role.ADMIN: console_as(role)


@pytest.fixture
def household(sdk, tenant_a):
    sdk.post("/api/v1/batch", {"batch": [
        {"type": "page", "anonymousId": "phone-1", "messageId": "p1", "timestamp": "2026-03-01T09:00:00Z"}]})
    load_inbox()
    sdk.post("/api/v1/batch", {"batch": [
        {"type": "identify", "userId": "ada", "anonymousId": "laptop", "messageId": "i1", "timestamp": "2026-03-01T10:00:00Z",
         "traits": {"email": "ada@example.com"}}]})
    load_inbox()  # two customers now: the phone's visitor, and ada
    sdk.post("/api/v1/batch", {"batch": [
        {"type": "identify", "userId": "ada", "anonymousId": "phone-1", "messageId": "i2", "timestamp": "2026-03-02T10:00:00Z"},
        {"type": "identify", "userId": "bob", "anonymousId": "laptop", "messageId": "i3", "timestamp": "2026-03-03T10:00:00Z"}]})
    load_inbox()
    return ApiClient(token=tenant_a.keys[Role.ADMIN], tenant=tenant_a.slug).get("/api/identity/resolve?type=user_id&value=ada").json()["cdp_id"]


def test_profile_draws_the_identity_graph_with_the_merge_and_the_conflict(console, household):
    page = console(Role.VIEWER).get(f"/customers/{household}/").content.decode()
    assert 'class="identity-graph"' in page and page.count("<circle") >= 4
    assert 'data-state="conflict"' in page, "bob's claim on the shared laptop is drawn as a refused join"
    assert "seen together" in page and "i2" in page, "the merge log says which call merged the phone visitor"


def test_identity_page_lists_merges_conflicts_and_rebuilds(console, household):
    client = console()
    page = client.get("/identity/").content.decode()
    assert "different user_id" in page and "seen together" in page
    done = client.post("/identity/runs/", follow=True).content.decode()
    assert "Rebuild queued" in done and "succeeded" in done


def test_rules_preview_with_htmx_then_save(console, household, tenant_a):
    admin = console()
    form = {"priority": "user_id, email, phone, device_id, anonymous_id", "limits": "user_id=2, *=5", "blocked": "null\nundefined",
            "custom": "", "default_region": "GB"}
    fragment = admin.post("/identity/rules/", {**form, "preview": "1"}, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<section id="preview"') and "Customers after" in fragment
    bad = admin.post("/identity/rules/", {**form, "limits": "user_id=lots"})
    assert bad.status_code == 422 and "type=number" in bad.content.decode()
    assert console(Role.EDITOR).post("/identity/rules/", form).status_code == 403
    assert "Rules saved" in admin.post("/identity/rules/", form, follow=True).content.decode()
    api = ApiClient(token=tenant_a.keys[Role.ADMIN], tenant=tenant_a.slug)
    assert api.get("/api/identity/rules").json()["default_region"] == "GB"


def test_unmerge_from_the_profile(console, household, tenant_a):
    client = console(Role.EDITOR)
    done = client.post(f"/identity/customers/{household}/unmerge/", {"identifier": "anonymous_id:phone-1", "reason": "sold the phone"},
                       follow=True).content.decode()
    assert "Blocked anonymous_id phone-1" in done
    api = ApiClient(token=tenant_a.keys[Role.ADMIN], tenant=tenant_a.slug)
    assert api.get("/api/identity/resolve?type=anonymous_id&value=phone-1").status_code == 404
