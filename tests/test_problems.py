"""Bad input gets a clear 4xx problem document (RFC 9457), never a 500, and changes nothing."""
from __future__ import annotations

import gzip

import pytest
from django.test import Client

from tenancy.models import ApiKey
from tenancy.roles import Role

pytestmark = pytest.mark.django_db


def _problem(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    return body


def test_validation_errors_name_each_field(tenant_a, api_as):
    body = _problem(api_as(tenant_a).post("/api/api-keys", {"name": "", "role": "overlord"}), 422)
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"name", "role"}
    assert all(error["message"] for error in body["errors"])


def test_wrong_query_types_are_422(tenant_a, api_as):
    body = _problem(api_as(tenant_a).get("/api/api-keys?limit=abc"), 422)
    assert body["errors"][0]["field"] == "limit"
    assert _problem(api_as(tenant_a).get("/api/api-keys?limit=100000"), 422)["errors"][0]["field"] == "limit"


def test_malformed_json_is_400_and_says_where(tenant_a, api_as):
    body = _problem(api_as(tenant_a).request("POST", "/api/api-keys", '{"name": '), 400)
    assert "not valid JSON" in body["detail"] and "line 1" in body["detail"]


@pytest.mark.parametrize("raw, words", [
    (b'{"name": "key \\udc00"}', "lone UTF-16 surrogate"),  # not a character: nothing could store it
    (b'{"name": NaN}', "NaN"),
    (b'{"name": "key \\u0000"}', "at name contains a NUL character"),
])
def test_json_that_cannot_be_stored_is_400_and_says_why(tenant_a, api_as, raw, words):
    body = _problem(api_as(tenant_a).request("POST", "/api/api-keys", raw), 400)
    assert words in body["detail"]


def test_non_utf8_body_is_400(tenant_a, api_as):
    body = _problem(api_as(tenant_a).request("POST", "/api/api-keys", b'{"name": "\xff\xfe"}'), 400)
    assert "UTF-8" in body["detail"] or "JSON" in body["detail"]


def test_wrong_content_type_is_415(tenant_a, api_as):
    body = _problem(api_as(tenant_a).request("POST", "/api/api-keys", "<key/>", content_type="application/xml"), 415)
    assert "application/json" in body["detail"]


def test_oversized_body_is_413(tenant_a, api_as, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    _problem(api_as(tenant_a).post("/api/api-keys", {"name": "x" * 5000}), 413)
    assert not ApiKey.objects.filter(name__startswith="xxx").exists()


def test_unknown_id_is_404_and_unknown_path_too(tenant_a, api_as):
    _problem(api_as(tenant_a).delete("/api/api-keys/424242"), 404)
    _problem(api_as(tenant_a).get("/api/no-such-thing"), 404)
    # Even a POST with a stray session cookie: a 404 problem, not Django's HTML CSRF page.
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "stale"
    _problem(client.post("/api/identity/customers//unmerge", data="{}", content_type="application/json"), 404)


def test_conflict_is_409(tenant_a, api_as):
    from tenancy.models import Membership

    only_admin = Membership.objects.create(
        user=__import__("django.contrib.auth", fromlist=["get_user_model"]).get_user_model().objects.create_user("solo@example.com"),
        tenant_id=tenant_a.ref.id, role="admin",
    )
    body = _problem(api_as(tenant_a).delete(f"/api/members/{only_admin.id}"), 409)
    assert "last admin" in body["detail"]


def test_request_id_is_echoed_or_generated(tenant_a, api_as):
    client = api_as(tenant_a)
    assert client.get("/api/me", **{"X-Request-ID": "abc-123"})["X-Request-ID"] == "abc-123"
    generated = client.get("/api/me", **{"X-Request-ID": "bad id with spaces"})["X-Request-ID"]
    assert generated != "bad id with spaces" and len(generated) == 32
    problem = client.get("/api/no-such-thing", **{"X-Request-ID": "trace-9"}).json()
    assert problem["request_id"] == "trace-9"


def test_gzip_is_not_mistaken_for_json(tenant_a, api_as):
    # A compressed body without Content-Encoding is garbage to us, and must be a 400, not a 500.
    response = api_as(tenant_a).request("POST", "/api/api-keys", gzip.compress(b'{"name":"x"}'))
    _problem(response, 400)


def test_unexpected_errors_are_500_problems_not_html(tenant_a, api_as, monkeypatch):
    from tenancy import selectors

    def boom(**kwargs):
        raise RuntimeError("database exploded")

    monkeypatch.setattr(selectors, "api_key_list", boom)
    body = _problem(api_as(tenant_a).get("/api/api-keys"), 500)
    assert "exploded" not in body["detail"]


def test_pagination_shape_is_the_same_everywhere(tenant_a, api_as):
    client = api_as(tenant_a)
    first = client.get("/api/api-keys?limit=2").json()
    assert set(first) == {"items", "limit", "offset", "next_offset", "total"}
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    rest = client.get(f"/api/api-keys?limit=2&offset={first['next_offset']}").json()
    assert rest["next_offset"] is None
    assert {k["id"] for k in first["items"]}.isdisjoint({k["id"] for k in rest["items"]})


@pytest.mark.django_db
def test_missing_lakehouse_tables_answer_503_saying_how_to_fix(tenant_a, api_as, lakehouse_unmigrated):
    """Before `lakehouse migrate` ran, reads are unavailable (not a 500) and the answer says what to run."""
    response = api_as(tenant_a, Role.VIEWER).get("/api/customers/cdp_anyone")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert "manage.py lakehouse migrate" in response.json()["detail"]


@pytest.mark.usefixtures("lakehouse")
@pytest.mark.parametrize("path", ["/api/customers?q=a%00b", "/api/customers/cdp_%00x", "/api/identity/resolve?type=email&value=a%00b"])
def test_a_nul_in_the_url_is_400_before_any_statement_runs(tenant_a, api_as, path):
    body = _problem(api_as(tenant_a).get(path), 400)  # PostgreSQL refuses a NUL in any statement
    assert "NUL character" in body["detail"]


def test_an_offset_past_any_engines_integer_is_422_not_a_crash(tenant_a, api_as, console_as):
    body = _problem(api_as(tenant_a).get("/api/api-keys?offset=99999999999999999999"), 422)
    assert body["errors"][0]["field"] == "offset"
    assert console_as().get("/settings/api-keys/?offset=99999999999999999999").status_code == 200


def test_a_nul_in_a_console_url_is_400_with_a_message(console_as):
    response = console_as().get("/customers/?q=a%00b")
    assert response.status_code == 400 and "NUL character" in response.content.decode()
