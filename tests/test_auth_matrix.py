"""Who may call what: credentials, roles, JWTs, revoked keys, forwarded headers, write keys."""
from __future__ import annotations

import base64

import pytest
from django.contrib.auth import get_user_model

from tenancy import services
from tenancy.models import ApiKey, Membership
from tenancy.roles import Role
from tests.conftest import ApiClient
from tests.jwt_tokens import HS_SECRET, RSA_PUBLIC_PEM, make_token
from tests.openapi_walk import operations

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]

OPERATIONS = [op for op in operations() if not op.is_ingestion]
WRITES = [op for op in OPERATIONS if op.writes]


def _values(op):
    return {name: 999999 for name in op.params}


def _url(op):
    from urllib.parse import urlencode

    query = {name: "x" for name in op.required_query}
    return op.url(_values(op)) + (f"?{urlencode(query)}" if query else "")


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_no_credentials_is_401_problem(op):
    response = ApiClient().request(op.method, _url(op), op.body)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("op", WRITES, ids=str)
def test_viewer_writing_is_403(op, tenant_a, api_as):
    response = api_as(tenant_a, Role.VIEWER).request(op.method, _url(op), op.body)
    assert response.status_code == 403, f"{op}: {response.status_code} {response.content[:200]}"


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_write_keys_are_refused_outside_ingestion(op, tenant_a):
    basic = base64.b64encode(f"{tenant_a.write_key}:".encode()).decode()
    as_basic = ApiClient(Authorization=f"Basic {basic}").request(op.method, _url(op), op.body)
    as_bearer = ApiClient(token=tenant_a.write_key).request(op.method, _url(op), op.body)
    assert (as_basic.status_code, as_bearer.status_code) == (401, 401)


def test_admin_routes_need_admin(tenant_a, api_as):
    assert api_as(tenant_a, Role.EDITOR).get("/api/api-keys").status_code == 403
    assert api_as(tenant_a, Role.ADMIN).get("/api/api-keys").status_code == 200
    assert api_as(tenant_a, Role.VIEWER).get("/api/me").status_code == 200


def test_revoked_key_is_401(tenant_a, api_as):
    info, secret = services.api_key_create(tenant=tenant_a.ref, name="short-lived", role=Role.VIEWER, actor="test")
    client = ApiClient(token=secret)
    assert client.get("/api/me").status_code == 200
    api_as(tenant_a).delete(f"/api/api-keys/{info.id}")
    response = client.get("/api/me")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


@pytest.mark.parametrize("kind", ["api key", "write key"])
def test_a_key_revoked_by_another_process_is_refused_within_a_second(tenant_a, monkeypatch, kind):
    from django.utils import timezone

    from tenancy import keycache
    from tenancy.models import WriteKey

    now = [1000.0]
    monkeypatch.setattr(keycache, "clock", lambda: now[0])
    if kind == "api key":
        info, secret = services.api_key_create(tenant=tenant_a.ref, name="elsewhere", role=Role.VIEWER, actor="test")
        model, call = ApiKey, lambda: ApiClient(token=secret).get("/api/me").status_code
    else:
        info, secret = services.write_key_create(tenant=tenant_a.ref, name="elsewhere", actor="test")
        model = WriteKey
        call = lambda: ApiClient.for_write_key(secret).post(  # noqa: E731
            "/api/v1/track", {"userId": "u", "event": "E", "messageId": f"m-{now[0]}"}).status_code
    assert call() == 200  # now cached in this process
    # Another process revokes it: the row changes, this process's post_save hook never runs.
    model.objects.filter(id=info.id).update(revoked_at=timezone.now())
    now[0] += 0.5
    assert call() == 200, "within the documented second the cached entry still answers"
    now[0] += 0.6
    assert call() == 401


def test_tampered_key_is_401(tenant_a):
    secret = tenant_a.keys[Role.ADMIN]
    assert ApiClient(token=secret[:-1] + ("A" if secret[-1] != "A" else "B")).get("/api/me").status_code == 401


def test_api_keys_are_stored_hashed(tenant_a):
    from tenancy.models import ApiKey

    secret = tenant_a.keys[Role.ADMIN]
    stored = list(ApiKey.objects.values_list("key_hash", "key_id", "name"))
    assert all(secret not in str(row) for row in stored)


def test_tenant_header_required_when_principal_has_several_tenants(tenant_a, tenant_b, client):
    user = get_user_model().objects.create_user("multi@example.com", password="pw-123456-long")
    Membership.objects.create(user=user, tenant_id=tenant_a.ref.id, role=Role.VIEWER)
    Membership.objects.create(user=user, tenant_id=tenant_b.ref.id, role=Role.ADMIN)
    client.force_login(user)
    response = client.get("/api/me")
    assert response.status_code == 400
    assert "X-Tenant-ID" in response.json()["detail"]
    assert client.get("/api/me", headers={"X-Tenant-ID": "bravo"}).json()["tenant"]["role"] == "admin"
    assert client.get("/api/tenants").json()["items"] == [
        {"slug": "alpha", "name": "Alpha Inc", "role": "viewer"}, {"slug": "bravo", "name": "Bravo Inc", "role": "admin"},
    ]


def test_session_writes_need_the_csrf_token(tenant_a):
    from django.test import Client

    user = get_user_model().objects.create_user("csrf@example.com", password="pw-123456-long")
    Membership.objects.create(user=user, tenant_id=tenant_a.ref.id, role=Role.ADMIN)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    refused = browser.post("/api/api-keys", data={"name": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    browser.get("/settings/api-keys/")  # sets the CSRF cookie, as the console page does
    token = browser.cookies["csrftoken"].value
    accepted = browser.post("/api/api-keys", data={"name": "x"}, content_type="application/json", headers={"X-CSRFToken": token})
    assert accepted.status_code == 201


class TestJwt:
    @pytest.fixture(autouse=True)
    def _keys(self, settings):
        settings.CDP_JWT_HS256_SECRET = HS_SECRET
        settings.CDP_JWT_PUBLIC_KEY = RSA_PUBLIC_PEM
        settings.CDP_JWT_AUDIENCE = "cdp"

    def test_valid_tokens_act_with_their_claimed_role(self, tenant_a):
        for alg in ("HS256", "RS256"):
            token = make_token(alg=alg, tenants={tenant_a.slug: "editor"})
            body = ApiClient(token=token).get("/api/me").json()
            assert (body["principal"], body["tenant"]["role"]) == ("jwt:svc-1", "editor")

    def test_single_tenant_claim_shape(self, tenant_a):
        token = make_token(tenant=tenant_a.slug, role="admin")
        assert ApiClient(token=token).get("/api/api-keys").status_code == 200

    @pytest.mark.parametrize("claims, reason", [
        ({"expires_in": -120}, "expired"),
        ({"audience": "someone-else"}, "audience"),
    ])
    def test_expired_or_wrong_audience_is_401(self, tenant_a, claims, reason):
        token = make_token(tenants={tenant_a.slug: "admin"}, **claims)
        response = ApiClient(token=token).get("/api/me")
        assert response.status_code == 401
        assert reason in response.json()["detail"]

    def test_bad_signature_is_401(self, tenant_a):
        token = make_token(tenants={tenant_a.slug: "admin"})
        head, payload, signature = token.split(".")
        forged = f"{head}.{payload}.{signature[::-1]}"
        assert ApiClient(token=forged).get("/api/me").status_code == 401

    def test_hs256_is_refused_when_only_public_keys_are_configured(self, tenant_a, settings):
        settings.CDP_JWT_HS256_SECRET = ""
        token = make_token(tenants={tenant_a.slug: "admin"})
        assert ApiClient(token=token).get("/api/me").status_code == 401

    def test_token_for_unknown_tenant_reaches_nothing(self, tenant_a):
        token = make_token(tenants={"not-a-tenant": "admin"})
        assert ApiClient(token=token).get("/api/me").status_code == 403


class TestDatabricksForwardedIdentity:
    HEADERS = {"X-Forwarded-Email": "Ana@Example.com", "X-Forwarded-User": "123@456", "X-Forwarded-Access-Token": "dapi-user-token"}

    def test_ignored_unless_running_as_an_app(self, tenant_a, settings):
        settings.RUNNING_AS_DATABRICKS_APP = False
        assert ApiClient(**self.HEADERS).get("/api/me").status_code == 401
        assert not get_user_model().objects.filter(username="ana@example.com").exists()

    def test_trusted_as_an_app_and_provisioned_with_the_default_role(self, tenant_a, settings):
        settings.RUNNING_AS_DATABRICKS_APP = True
        settings.CDP_APP_USER_DEFAULT_TENANT = tenant_a.slug
        settings.CDP_APP_USER_DEFAULT_ROLE = "viewer"
        body = ApiClient(**self.HEADERS).get("/api/me").json()
        assert (body["principal"], body["tenant"]["slug"], body["tenant"]["role"]) == ("user:ana@example.com", "alpha", "viewer")
        assert ApiClient(**self.HEADERS).post("/api/api-keys", {"name": "x"}).status_code == 403

    @pytest.mark.parametrize(("where_from", "created"), [
        ({"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}, False),
        ({"Origin": "https://evil.test"}, False),  # a browser without Fetch Metadata
        ({"Sec-Fetch-Site": "same-site"}, False),  # another app on the same parent domain
        ({"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"}, True),
        ({"Origin": "http://testserver"}, True),
        ({}, True),  # not a browser: nothing ambient to ride on
    ])
    def test_writes_without_cookies_are_refused_from_another_site(self, tenant_a, settings, where_from, created):
        # The Apps proxy may authenticate the browser with a cookie of its own and pass on only
        # the identity: a cross-site form (text/plain, no preflight) would then write as the user.
        settings.RUNNING_AS_DATABRICKS_APP = True
        settings.CDP_APP_USER_DEFAULT_TENANT = tenant_a.slug
        settings.CDP_APP_USER_DEFAULT_ROLE = "admin"
        response = ApiClient(**self.HEADERS, **where_from).post("/api/api-keys", '{"name": "forged"}', content_type="text/plain")
        assert response.status_code == (201 if created else 403), response.content
        assert ApiKey.objects.filter(name="forged").exists() is created
        if not created:
            assert "another site" in response.json()["detail"]

    def test_without_a_default_tenant_a_new_app_user_reaches_nothing(self, tenant_a, settings):
        settings.RUNNING_AS_DATABRICKS_APP = True
        settings.CDP_APP_USER_DEFAULT_TENANT = ""
        assert ApiClient(**self.HEADERS).get("/api/me").status_code == 403


def test_rate_limit_answers_429_with_retry_after(tenant_a, api_as, settings):
    from django.core.cache import cache

    cache.clear()
    settings.CDP_API_RATE_LIMIT_PER_MINUTE = 3
    client = api_as(tenant_a, Role.VIEWER)
    statuses = [client.get("/api/me").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert int(client.get("/api/me")["Retry-After"]) >= 1
    cache.clear()


def test_the_last_admin_can_be_neither_removed_nor_demoted(tenant_a, api_as):
    admin = api_as(tenant_a, Role.ADMIN)
    services.member_set(tenant=tenant_a.ref, email="only-admin@example.com", role=Role.ADMIN, actor="test")
    members = {m["email"]: m for m in admin.get("/api/members").json()["items"]}
    admins = [m for m in members.values() if m["role"] == Role.ADMIN]
    for member in admins[1:]:
        assert admin.delete(f"/api/members/{member['id']}").status_code == 204
    last = admins[0]
    assert admin.patch(f"/api/members/{last['id']}", {"role": Role.VIEWER}).status_code == 409
    assert admin.delete(f"/api/members/{last['id']}").status_code == 409


def test_rebuilds_and_rules_previews_need_admin_in_the_api_as_in_the_console(tenant_a, api_as):
    editor = api_as(tenant_a, Role.EDITOR)
    assert editor.post("/api/identity/runs", {}).status_code == 403
    rules = {k: v for k, v in editor.get("/api/identity/rules").json().items() if k != "defaults"}
    assert editor.post("/api/identity/rules/preview", rules).status_code == 403
    assert api_as(tenant_a, Role.ADMIN).post("/api/identity/runs", {}).status_code == 202
