"""Console pages without JavaScript: real links and forms, role checks, and messages that say what to do."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from console.navigation import NAVIGATION
from tenancy import services
from tenancy.models import ApiKey, AuditEntry
from tenancy.roles import Role

pytestmark = pytest.mark.django_db



@pytest.fixture
def signed_in(console_as):
    return lambda role=Role.ADMIN: console_as(role)


@pytest.mark.usefixtures("lakehouse")
def test_every_navigation_link_is_a_real_page(signed_in):
    client = signed_in()
    home = client.get("/").content.decode()
    links = re.findall(r'<nav class="mainnav".*?</nav>', home, re.S)[0]
    hrefs = re.findall(r'href="([^"]+)"', links)
    assert len(hrefs) == len(NAVIGATION)
    for href in hrefs:
        assert client.get(href).status_code == 200, href


def test_customer_pages_before_lakehouse_migrate_say_what_to_run(signed_in, lakehouse_unmigrated):
    response = signed_in().get("/customers/")
    assert response.status_code == 503
    assert "manage.py lakehouse migrate" in response.content.decode()


def test_creating_a_key_without_htmx_shows_it_once_on_the_full_page(signed_in):
    client = signed_in()
    page = client.post("/settings/api-keys/", {"name": "no-js key", "role": "viewer"}).content.decode()
    secret = re.search(r'id="new-secret"[^>]*>(cdp_ak_[^<]+)<', page).group(1)
    assert "<html" in page
    again = client.get("/settings/api-keys/").content.decode()
    assert secret not in again and secret[:15] in again
    assert ApiKey.objects.get(name="no-js key").key_hash != secret


def test_htmx_create_returns_only_the_panel(signed_in):
    client = signed_in()
    fragment = client.post("/settings/write-keys/", {"name": "sdk"}, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<div id="key-panel">') and "<html" not in fragment
    assert "cdp_wk_" in fragment


def test_revoke_from_the_console_is_audited(signed_in, tenant_a):
    client = signed_in()
    info, _ = services.api_key_create(tenant=tenant_a.ref, name="old", role=Role.VIEWER, actor="test")
    response = client.post(f"/settings/api-keys/{info.id}/revoke/", follow=True)
    assert "Revoked" in response.content.decode()
    assert AuditEntry.objects.filter(action="apikey.revoke", actor="user:admin@example.com").exists()


def test_another_tenants_key_is_404_in_the_console(signed_in, tenant_b):
    client = signed_in()
    info, _ = services.api_key_create(tenant=tenant_b.ref, name="theirs", role=Role.VIEWER, actor="test")
    assert client.post(f"/settings/api-keys/{info.id}/revoke/").status_code == 404
    assert ApiKey.objects.get(id=info.id).revoked_at is None


def test_non_admins_are_told_which_role_they_need(signed_in):
    response = signed_in(Role.EDITOR).get("/settings/api-keys/")
    assert response.status_code == 403
    assert "needs the <strong>admin</strong> role" in response.content.decode()


def test_members_and_audit_pages(signed_in):
    client = signed_in()
    response = client.post("/settings/members/", {"email": "New.Person@example.com", "role": "editor"}, follow=True)
    assert "new.person@example.com is now editor" in response.content.decode()
    assert client.post("/settings/members/", {"email": "not-an-email", "role": "editor"}).status_code == 422
    audit = client.get("/settings/audit/").content.decode()
    assert "member.set" in audit and "new.person@example.com" in audit


def test_operations_page_shows_the_schedules_and_the_lakehouse(signed_in, lakehouse_unmigrated):
    from django.core.management import call_command

    page = signed_in().get("/operations/").content.decode()
    assert "journey-orchestrator" in page and "5 min" in page
    assert "manage.py lakehouse migrate" in page
    call_command("lakehouse", "migrate", stdout=open("/dev/null", "w"))
    page = signed_in().get("/operations/").content.decode()
    assert "<code>events</code>" in page and "current" in page


def test_signed_out_visitors_are_sent_to_sign_in():
    response = Client().get("/settings/members/")
    assert response.status_code == 302 and response["Location"].startswith("/signin/")


def test_sign_in_is_throttled(settings, tenant_a):
    from django.core.cache import cache

    cache.clear()
    settings.CDP_LOGIN_ATTEMPTS_PER_15_MINUTES = 2
    client = Client()
    codes = [client.post("/signin/", {"username": "x@example.com", "password": "nope"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    cache.clear()


@pytest.mark.usefixtures("lakehouse")
def test_switching_tenant_returns_to_a_page_of_this_site_only(signed_in, tenant_a):
    client = signed_in()
    back = client.post("/tenant/", {"tenant": tenant_a.slug, "next": "/customers/?q=ada"})
    assert back.status_code == 302 and back["Location"] == "/customers/?q=ada"
    profile = client.post("/tenant/", {"tenant": tenant_a.slug, "next": "/customers/cdp_0123456789abcdef/"})
    assert profile["Location"] == "/customers/", "a profile of the old tenant is not in the new one: its list instead"
    assert client.post("/tenant/", {"tenant": tenant_a.slug, "next": "/settings/api-keys/"})["Location"] == "/settings/api-keys/"
    trait = client.post("/tenant/", {"tenant": tenant_a.slug, "next": "/customers/computed-traits/7/"})
    assert trait["Location"] == "/customers/computed-traits/"
    for elsewhere in ("https://evil.example/", "//evil.example/x", "console:home", "/\\evil.example"):
        response = client.post("/tenant/", {"tenant": tenant_a.slug, "next": elsewhere})
        assert response.status_code == 302 and response["Location"] == "/", elsewhere


@pytest.mark.usefixtures("lakehouse")
@pytest.mark.parametrize(("role", "hidden"), [(Role.VIEWER, {"Operations", "Settings"}), (Role.EDITOR, {"Operations", "Settings"}),
                                              (Role.ADMIN, set())])
def test_the_navigation_shows_only_what_the_role_can_open(signed_in, role, hidden):
    client = signed_in(role)
    home = client.get("/").content.decode()
    nav = re.findall(r'<nav class="mainnav".*?</nav>', home, re.S)[0]
    labels = set(re.findall(r">([^<>]+)</a>", nav))
    assert not labels & hidden and {"Customers", "Identity"} <= labels
    for href in re.findall(r'href="([^"]+)"', nav):
        assert client.get(href).status_code == 200, (role, href)


@pytest.mark.usefixtures("lakehouse")
def test_viewers_read_the_rules_without_fields_they_cannot_use(signed_in):
    page = signed_in(Role.VIEWER).get("/identity/rules/").content.decode()
    assert "Only admins can change the rules" in page and "<fieldset class=\"plain\" disabled>" in page
    assert "Save and rebuild" not in page
    admin = signed_in(Role.ADMIN).get("/identity/rules/").content.decode()
    assert "Save and rebuild" in admin and "disabled>" not in admin


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_console_urls_get_the_products_404_page_in_debug_too(signed_in, settings, debug):
    settings.DEBUG = debug
    client = signed_in()
    for path in ("/no/such/page/", "/customers/c_missing/timeline/x/", "/settings/nothing/here/"):
        response = client.get(path)
        assert response.status_code == 404, path
        page = response.content.decode()
        assert "There is no page at" in page and "URLconf" not in page, path
    assert client.get("/operations")["Location"] == "/operations/"  # a missing slash is still added
    assert client.get("/favicon.ico")["Location"].endswith("img/favicon.svg")
