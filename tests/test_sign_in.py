"""Password sign-in: one throttle for every form (console and admin), keyed as the form sees the
user name and on the client address a trusted proxy reports; every attempt audited."""
from __future__ import annotations

import pytest
from django.test import Client

from tenancy import services
from tenancy.models import AuditEntry, SignInAttempt
from tenancy.roles import Role

pytestmark = pytest.mark.django_db
PASSWORD = "pw-long-enough-1"


@pytest.fixture
def viewer(tenant_a, settings):
    settings.CDP_LOGIN_ATTEMPTS_PER_15_MINUTES = 3
    services.member_set(tenant=tenant_a.ref, email="viewer@x.test", role=Role.VIEWER, actor="test", password=PASSWORD)
    return "viewer@x.test"


def _sign_in(client: Client, username: str, password: str, path: str = "/signin/", **extra) -> int:
    return client.post(path, {"username": username, "password": password}, **extra).status_code


def test_padded_and_fullwidth_names_count_as_the_same_name(viewer):
    client = Client()
    # Each of these is authenticated as viewer@x.test by the form, so each counts against it.
    for guess in (" viewer@x.test", "viewer@x.test ", "\tviewer@x.test", "\uff56iewer@x.test"):
        _sign_in(client, guess, "wrong")
    assert SignInAttempt.objects.filter(username="viewer@x.test").count() == 3  # the 4th was refused uncounted
    for padded in (" viewer@x.test", "\uff56iewer@x.test", "VIEWER@x.test"):
        response = client.post("/signin/", {"username": padded, "password": PASSWORD})
        assert response.status_code == 429, padded
        assert "Too many sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_right_password_within_the_allowance_signs_in_and_is_audited(viewer, tenant_a):
    client = Client()
    assert _sign_in(client, viewer, "wrong") == 200
    assert _sign_in(client, " " + viewer, PASSWORD) == 302
    actions = list(AuditEntry.objects.filter(tenant_id=tenant_a.ref.id, action__startswith="auth.").values_list("action", "details"))
    assert [a for a, _ in actions] == ["auth.sign_in", "auth.sign_in_failed"]
    assert all(d == {"address": "127.0.0.1", "via": "console"} for _, d in actions)


def test_the_admin_sign_in_is_throttled_too(viewer):
    client = Client()
    codes = [_sign_in(client, viewer, "wrong", path="/admin/login/") for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # The same ledger: the console refuses this name from this address now as well.
    assert _sign_in(Client(), viewer, PASSWORD) == 429
    assert AuditEntry.objects.filter(action="auth.sign_in_throttled", details__via="admin").exists()


def test_behind_a_trusted_proxy_each_client_has_its_own_allowance(viewer, settings):
    settings.CDP_CLIENT_ADDRESS_HEADER = "X-Real-Ip"
    client = Client()
    for _ in range(3):
        _sign_in(client, viewer, "wrong", HTTP_X_REAL_IP="203.0.113.7")
    assert _sign_in(client, viewer, PASSWORD, HTTP_X_REAL_IP="203.0.113.7") == 429
    # Another client behind the same proxy (same REMOTE_ADDR) is not locked out by the first.
    assert _sign_in(Client(), viewer, PASSWORD, HTTP_X_REAL_IP="198.51.100.2") == 302


def test_without_a_trusted_proxy_the_header_is_ignored(viewer, settings):
    settings.CDP_CLIENT_ADDRESS_HEADER = ""
    client = Client()
    for spoofed in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        _sign_in(client, viewer, "wrong", HTTP_X_REAL_IP=spoofed)
    assert _sign_in(client, viewer, PASSWORD, HTTP_X_REAL_IP="203.0.113.4") == 429


def test_one_address_trying_many_names_and_many_addresses_one_name_are_limited(viewer, settings):
    settings.CDP_CLIENT_ADDRESS_HEADER = "X-Real-Ip"
    client = Client()
    for n in range(15):  # 5x the allowance, spread over names: one client spraying accounts
        _sign_in(client, f"someone{n}@x.test", "wrong", HTTP_X_REAL_IP="203.0.113.9")
    assert _sign_in(client, "fresh@x.test", "wrong", HTTP_X_REAL_IP="203.0.113.9") == 429
    for n in range(30):  # 10x the allowance on one name, from many addresses
        _sign_in(client, viewer, "wrong", HTTP_X_REAL_IP=f"198.51.100.{n}")
    assert _sign_in(client, viewer, PASSWORD, HTTP_X_REAL_IP="192.0.2.1") == 429


def test_names_of_no_member_are_audited_without_a_tenant(viewer):
    _sign_in(Client(), "nobody@x.test", "wrong")
    entry = AuditEntry.objects.get(action="auth.sign_in_failed", target="nobody@x.test")
    assert entry.tenant_id is None
