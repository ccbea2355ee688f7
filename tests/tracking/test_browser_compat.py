"""What browser and server SDKs need of the tracking routes besides the calls themselves: CORS on
every answer (preflights, errors and 429 included), their paths, the write key where they put it,
bodies of any declared type, the settings they read first, and a rate limit per write key."""
from __future__ import annotations

import base64
import gzip
import json

import pytest

from tests.conftest import ApiClient
from tests.tracking.helpers import inbox_calls

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]
ORIGIN = "https://shop.example"


def _raw(method: str, path: str, data: bytes = b"", *, content_type: str = "application/json", **meta):
    """A request exactly as a browser or SDK sends it (any declared type, META headers as given)."""
    return ApiClient().client.generic(method, path, data, content_type=content_type, **meta)


def _post(path: str, body, *, content_type: str = "application/json", **meta):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return _raw("POST", path, data, content_type=content_type, **{"HTTP_ORIGIN": ORIGIN, **meta})


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@pytest.mark.parametrize("path", ["/api/v1/batch", "/api/v1/t", "/api/v1/b", "/api/v1/identify", "/api/beacon/v1/batch",
                                  "/api/sourceConfig/", "/api/v1/projects/cdp_wk_x/settings"])
def test_a_preflight_is_answered_before_routing_and_authentication(path):
    answer = _raw("OPTIONS", path, HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                                 HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type,anonymousid,sentat")
    assert answer.status_code == 204
    assert answer["Access-Control-Allow-Origin"] == "*"
    assert "POST" in answer["Access-Control-Allow-Methods"]
    assert set(answer["Access-Control-Allow-Headers"].split(",")) >= {"authorization", "content-type", "anonymousid", "sentat"}
    assert int(answer["Access-Control-Max-Age"]) >= 600


def test_every_answer_carries_cors_headers_errors_included(tenant_a):
    ok = _post("/api/v1/t", {"event": "E", "anonymousId": "a1", "writeKey": tenant_a.write_key}, content_type="text/plain")
    unknown_key = _post("/api/v1/batch", {"batch": [{"type": "track", "event": "E", "anonymousId": "a"}]}, HTTP_AUTHORIZATION=_basic("cdp_wk_nope"))
    invalid = _post("/api/v1/track", {"event": ""}, HTTP_AUTHORIZATION=_basic(tenant_a.write_key))
    not_json = _post("/api/v1/track", b"event=E", content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION=_basic(tenant_a.write_key))
    assert [r.status_code for r in (ok, unknown_key, invalid, not_json)] == [200, 401, 422, 400]
    for answer in (ok, unknown_key, invalid, not_json):
        assert answer["Access-Control-Allow-Origin"] == "*" and "Retry-After" in answer["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in ApiClient().get("/api/customers", HTTP_ORIGIN=ORIGIN), "only tracking routes"


def test_the_write_key_from_basic_the_body_or_the_beacon_query(tenant_a, tenant_b):
    call = {"type": "track", "event": "E", "anonymousId": "a1"}
    in_header = _post("/api/v1/batch", {"batch": [{**call, "messageId": "h1"}]}, HTTP_AUTHORIZATION=_basic(tenant_a.write_key))
    in_body = _post("/api/v1/b", {"batch": [{**call, "messageId": "b1"}], "writeKey": tenant_a.write_key}, content_type="text/plain")
    in_call = _post("/api/v1/t", {**call, "messageId": "c1", "writeKey": tenant_b.write_key}, content_type="text/plain")
    beacon = _post(f"/api/beacon/v1/batch?writeKey={tenant_a.write_key}", {"batch": [{**call, "messageId": "q1"}]}, content_type="text/plain")
    assert [r.status_code for r in (in_header, in_body, in_call, beacon)] == [200] * 4
    assert sorted(c["messageId"] for c in inbox_calls(tenant_a.ref.id)) == ["b1", "h1", "q1"]
    assert [c["messageId"] for c in inbox_calls(tenant_b.ref.id)] == ["c1"]
    assert all("writeKey" not in json.dumps(c) for c in inbox_calls(tenant_a.ref.id)), "the key is not part of a stored call"
    query_elsewhere = _post(f"/api/v1/batch?writeKey={tenant_a.write_key}", {"batch": [{**call, "messageId": "q2"}]})
    assert query_elsewhere.status_code == 401, "a key in the URL only where a beacon cannot do otherwise"
    assert _post("/api/v1/t", {**call, "writeKey": "cdp_wk_unknown"}, content_type="text/plain").status_code == 401


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/x-www-form-urlencoded", ""])
def test_json_is_accepted_whatever_the_declared_type_and_gzip_as_server_sdks_send_it(tenant_a, content_type):
    body = gzip.compress(json.dumps({"batch": [{"type": "track", "event": "E", "userId": "u1", "messageId": f"m-{content_type}"}]}).encode())
    answer = _post("/api/v1/batch", body, content_type=content_type, HTTP_AUTHORIZATION=_basic(tenant_a.write_key),
                   HTTP_CONTENT_ENCODING="gzip")
    assert answer.status_code == 200 and answer.json()["accepted"] == 1


def test_a_multi_member_gzip_body_is_read_whole(tenant_a):
    text = json.dumps({"batch": [{"type": "track", "event": "E", "userId": "u1", "messageId": f"g{i}"} for i in range(4)]}).encode()
    body = gzip.compress(text[:20]) + gzip.compress(text[20:])
    answer = _post("/api/v1/batch", body, HTTP_AUTHORIZATION=_basic(tenant_a.write_key), HTTP_CONTENT_ENCODING="gzip")
    assert answer.status_code == 200 and answer.json()["accepted"] == 4
    refused = _post("/api/v1/batch", gzip.compress(text) + b"trailing junk", HTTP_AUTHORIZATION=_basic(tenant_a.write_key),
                    HTTP_CONTENT_ENCODING="gzip")
    assert refused.status_code == 400


def test_the_settings_sdks_read_first_are_answered_for_valid_write_keys_only(tenant_a):
    segment = ApiClient().get(f"/api/v1/projects/{tenant_a.write_key}/settings", HTTP_ORIGIN=ORIGIN)
    assert segment.status_code == 200 and segment["Access-Control-Allow-Origin"] == "*"
    destination = segment.json()["integrations"]["Segment.io"]
    assert destination["apiKey"] == tenant_a.write_key and destination["apiHost"] == "testserver/api/v1"
    rudder = ApiClient().get(f"/api/sourceConfig/?p=npm&v=3&writeKey={tenant_a.write_key}")
    assert rudder.status_code == 200 and rudder.json()["source"]["destinations"] == [] and rudder.json()["source"]["id"] == tenant_a.slug
    by_header = ApiClient(Authorization=_basic(tenant_a.write_key)).get("/api/sourceConfig/")
    assert by_header.status_code == 200
    for url in ("/api/v1/projects/cdp_wk_nope/settings", "/api/sourceConfig/?writeKey=cdp_wk_nope", "/api/sourceConfig/"):
        assert ApiClient().get(url).status_code == 401, url


def test_the_rate_limit_is_per_write_key_with_retry_after_and_cors(tenant_a, tenant_b, settings, monkeypatch):
    from tenancy.auth import PrincipalRateThrottle

    settings.CDP_INGEST_RATE_LIMIT_PER_SECOND = 1  # a bucket of 60, refilled one a second
    monkeypatch.setattr(PrincipalRateThrottle, "clock", staticmethod(lambda: 1_000_000.0))  # no time passes
    call = {"type": "track", "event": "E", "anonymousId": "a1"}
    answers = [_post("/api/v1/track", {**call, "messageId": f"r{i}"}, HTTP_AUTHORIZATION=_basic(tenant_a.write_key)).status_code
               for i in range(61)]
    assert answers.count(200) == 60 and answers[-1] == 429
    refused = _post("/api/v1/track", call, HTTP_AUTHORIZATION=_basic(tenant_a.write_key))
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1 and refused["Access-Control-Allow-Origin"] == "*"
    assert _post("/api/v1/track", call, HTTP_AUTHORIZATION=_basic(tenant_b.write_key)).status_code == 200, "another key has its own"


def test_the_write_keys_page_shows_the_endpoint_and_ready_snippets_with_the_new_key(console_as):
    from tenancy.roles import Role

    client = console_as(Role.ADMIN)
    page = client.get("/settings/write-keys/").content.decode()
    assert "Send events" in page and "http://testserver/api" in page and "&lt;your write key&gt;" in page
    assert "@segment/analytics-next" in page and "@rudderstack/analytics-js/bundled" in page and "analytics.host" in page
    fragment = client.post("/settings/write-keys/", {"name": "website"}, headers={"HX-Request": "true"}).content.decode()
    secret = fragment.split('<code id="new-secret" class="secret-value">')[1].split("<")[0]
    assert fragment.count(secret) >= 4, "the new key is filled into each snippet"
    assert "Send events" not in client.get("/settings/api-keys/").content.decode(), "API keys do not send events"


def test_a_write_key_may_be_limited_to_some_sites(tenant_a, api_as):
    from tenancy.roles import Role

    admin = api_as(tenant_a, Role.ADMIN)
    created = admin.post("/api/write-keys", {"name": "shop", "allowed_origins": ["https://Shop.example/"]})
    assert created.status_code == 201
    key = created.json()["secret"]
    call = {"type": "track", "event": "E", "anonymousId": "a1"}
    from_shop = _post("/api/v1/track", call, HTTP_AUTHORIZATION=_basic(key), HTTP_ORIGIN="https://shop.example")
    from_elsewhere = _post("/api/v1/track", call, HTTP_AUTHORIZATION=_basic(key), HTTP_ORIGIN="https://evil.example")
    from_a_server = ApiClient.for_write_key(key).post("/api/v1/track", call)
    assert (from_shop.status_code, from_elsewhere.status_code, from_a_server.status_code) == (200, 403, 200)
    assert "allowed origins" in from_elsewhere.json()["detail"] and from_elsewhere["Access-Control-Allow-Origin"] == "*"
    assert admin.post("/api/write-keys", {"name": "bad", "allowed_origins": ["shop.example/path"]}).status_code == 422
