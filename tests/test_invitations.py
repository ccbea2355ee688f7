"""Members can get in: an invited member gets a one-time set-password link (shown once to the
admin, mailed when the site has mail), sets a password and is signed in; the link then stops
working; forgotten passwords are reset the same way; the token never reaches a log line."""
from __future__ import annotations

import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tenancy import selectors, services
from tenancy.invitations import loggable_path
from tenancy.roles import Role
from tenancy.selectors import audit_list

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]
NEW_PASSWORD = "plum-orbit-lantern-42"


def _link(page: str) -> str:
    match = re.search(r'id="set-password-url">([^<]+)<', page)
    assert match, "the link is shown once on the page"
    return match.group(1)


def _set_password(link: str) -> tuple[Client, object]:
    """Open the link as the invited person would, choose a password; returns their client and the final answer."""
    person = Client()
    opened = person.get(link)
    assert opened.status_code == 302 and "set-password" in opened["Location"] and link.rsplit("/", 2)[-2] not in opened["Location"], \
        "the token leaves the address bar at once"
    form = person.get(opened["Location"])
    assert "Set your password" in form.content.decode() and "validlink" not in form.content.decode()
    done = person.post(opened["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True)
    return person, done


def test_an_invited_member_sets_a_password_once_and_is_signed_in(console_as, tenant_a, caplog):
    admin = console_as(Role.ADMIN)
    with caplog.at_level(logging.INFO, logger="cdp.request"):
        added = admin.post("/settings/members/", {"email": "New.Person@Example.com", "role": Role.EDITOR})
        assert added.status_code == 200, "no redirect: the link is shown in this answer only"
        link = _link(added.content.decode())
        assert link.startswith("http://testserver/signin/set-password/")
        assert "shown once" in added.content.decode().lower()
        person, done = _set_password(link)
    assert done.status_code == 200 and "Your password is set; you are signed in." in done.content.decode()
    assert person.get("/").status_code == 200 and tenant_a.ref.name in person.get("/").content.decode()
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert not any(token in record.getMessage() or token in str(getattr(record, "cdp_path", "")) for record in caplog.records), \
        "the token never reaches the request log"
    again = Client().get(link, follow=True).content.decode()
    assert "This link has been used or has expired." in again and "New sign-in link" in again
    assert Client().login(username="new.person@example.com", password=NEW_PASSWORD)
    actions = [e.action for e in audit_list(tenant=tenant_a.ref)]
    assert "member.invite" in actions
    assert admin.get("/settings/members/").content.decode().count('id="set-password-url"') == 0, "never shown again"


def test_someone_with_a_password_gets_no_link_and_a_lost_one_is_replaced(console_as, tenant_a):
    services.member_set(tenant=tenant_a.ref, email="has@example.com", role=Role.VIEWER, actor="test", password="an-old-pass-phrase-9")
    admin = console_as(Role.ADMIN)
    added = admin.post("/settings/members/", {"email": "has@example.com", "role": Role.EDITOR}, follow=True).content.decode()
    assert "sign in with the password they already have" in added and 'id="set-password-url"' not in added
    member = selectors.member_by_email(tenant=tenant_a.ref, email="has@example.com")
    reset = admin.post(f"/settings/members/{member.id}/password-link/").content.decode()
    _, done = _set_password(_link(reset))
    assert "Your password is set" in done.content.decode()
    assert Client().login(username="has@example.com", password=NEW_PASSWORD)
    assert not Client().login(username="has@example.com", password="an-old-pass-phrase-9")


def test_the_api_answers_the_link_once_and_makes_new_ones(tenant_a, api_as):
    api = api_as(tenant_a, Role.ADMIN)
    created = api.post("/api/members", {"email": "api.person@example.com", "role": "viewer"})
    assert created.status_code == 201 and created.json()["set_password_url"].startswith("http://testserver/signin/set-password/")
    assert created.json()["emailed"] is False
    assert api.post("/api/members", {"email": "api.person@example.com", "role": "editor"}).json()["set_password_url"], \
        "still no password: a new link"
    fresh = api.post(f"/api/members/{created.json()['id']}/password-link")
    assert fresh.status_code == 200 and fresh.json()["email"] == "api.person@example.com"
    assert api_as(tenant_a, Role.EDITOR).post(f"/api/members/{created.json()['id']}/password-link").status_code == 403


def test_with_mail_configured_invitations_and_resets_arrive_by_mail(console_as, tenant_a, smtp_server):
    admin = console_as(Role.ADMIN)
    added = admin.post("/settings/members/", {"email": "mailed@example.com", "role": Role.VIEWER}).content.decode()
    assert "It was mailed to them." in added
    [invitation] = smtp_server.inbox.messages
    assert invitation["To"] == "mailed@example.com" and tenant_a.ref.name in invitation["Subject"]
    mailed_link = re.search(r"(http://testserver/signin/set-password/\S+)", invitation.get_content()).group(1)
    assert mailed_link == _link(added)
    _set_password(mailed_link)

    anonymous = Client()
    forgot = anonymous.post("/signin/forgot/", {"email": "mailed@example.com"}, follow=True).content.decode()
    assert "Check your mail" in forgot
    unknown = anonymous.post("/signin/forgot/", {"email": "nobody@example.com"}, follow=True).content.decode()
    assert "Check your mail" in unknown, "the same answer for an unknown address"
    assert len(smtp_server.inbox.messages) == 2, "one reset mail, none for the unknown address"
    reset_link = re.search(r"(http://testserver/signin/set-password/\S+)", smtp_server.inbox.messages[1].get_content()).group(1)
    person, done = _set_password(reset_link)
    assert "Your password is set" in done.content.decode()


def test_without_mail_the_forgot_page_says_who_makes_a_link():
    page = Client().get("/signin/forgot/").content.decode()
    assert "This installation sends no mail" in page and "New sign-in link" in page
    assert Client().post("/signin/forgot/", {"email": "x@example.com"}).status_code == 200, "no mail attempted, no error"
    assert "Forgot your password?" in Client().get("/signin/").content.decode()


def test_set_password_links_are_logged_without_their_token():
    assert loggable_path("/signin/set-password/MQ/abc-123def/") == "/signin/set-password/MQ/…/"
    assert loggable_path("/signin/set-password/MQ/set-password/") == "/signin/set-password/MQ/set-password/"
    assert loggable_path("/customers/") == "/customers/"


def test_cdp_user_says_how_people_sign_in(db):
    from io import StringIO

    from django.core.management import call_command

    services.tenant_create(slug="acme", name="Acme", actor="test")
    out = StringIO()
    call_command("cdp_user", "create", "ops@example.com", "--tenant", "acme", "--role", "admin", stdout=out)
    assert "Set-password link (shown once, works once):" in out.getvalue()
    assert not get_user_model().objects.get(username="ops@example.com").has_usable_password()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_invite_and_first_sign_in_in_chromium(page, live_server, chromium):
    tenant = services.tenant_create(slug="shop", name="The Shop", actor="test")
    services.member_set(tenant=tenant, email="admin@example.com", role=Role.ADMIN, actor="test", password="admin-pass-phrase-77")
    page.goto(live_server.url + "/signin/")
    page.fill("#id_username", "admin@example.com")
    page.fill("#id_password", "admin-pass-phrase-77")
    page.click("button[type=submit]")
    page.wait_for_selector("#dashboard")
    page.goto(live_server.url + "/settings/members/")
    page.fill("#id_email", "newcomer@example.com")
    page.select_option("#id_role", "viewer")
    page.click("button:has-text('Add or change')")
    link = page.locator("#set-password-url").inner_text().strip()
    assert link.startswith(live_server.url + "/signin/set-password/")

    chromium.clear_cookies()  # the newcomer, in a browser of their own
    page.goto(link)
    assert "/set-password/" in page.url and link.rstrip("/").rsplit("/", 1)[-1] not in page.url
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#dashboard")
    assert "Your password is set" in page.inner_text("main") and "The Shop" in page.inner_text("h1")
    page.click("text=Sign out")
    page.wait_for_url("**/signin/")
    page.fill("#id_username", "newcomer@example.com")
    page.fill("#id_password", NEW_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#dashboard")
    page.goto(link)
    assert "This link has been used or has expired." in page.inner_text("main")


def test_one_tenants_admin_cannot_take_over_an_account_that_reaches_more(console_as, tenant_a, tenant_b, api_as):
    """A link for someone who also belongs to another tenant (or operates the platform) would let
    this tenant's admin set their password and act in the other tenant."""
    services.member_set(tenant=tenant_b.ref, email="shared@example.com", role=Role.ADMIN, actor="test", password="b-tenant-pass-phrase-1")
    admin = console_as(Role.ADMIN)
    added = admin.post("/settings/members/", {"email": "shared@example.com", "role": Role.VIEWER}, follow=True).content.decode()
    assert 'id="set-password-url"' not in added and "sign in with the password they already have" in added
    member = selectors.member_by_email(tenant=tenant_a.ref, email="shared@example.com")
    refused = admin.post(f"/settings/members/{member.id}/password-link/", follow=True).content.decode()
    assert "also signs in elsewhere" in refused and 'id="set-password-url"' not in refused
    assert api_as(tenant_a, Role.ADMIN).post(f"/api/members/{member.id}/password-link").status_code == 403
    # Invited without a password by tenant B, then added to A: A's admin gets no link for it either.
    services.member_set(tenant=tenant_b.ref, email="pending@example.com", role=Role.ADMIN, actor="test")
    invited = api_as(tenant_a, Role.ADMIN).post("/api/members", {"email": "pending@example.com", "role": "viewer"}).json()
    assert invited["set_password_url"] is None
    superuser = get_user_model().objects.get(username="admin@example.com")
    superuser.is_superuser = True
    superuser.save()
    own = selectors.member_by_email(tenant=tenant_a.ref, email="admin@example.com")
    assert api_as(tenant_a, Role.ADMIN).post(f"/api/members/{own.id}/password-link").status_code == 403, "not for a platform operator"
