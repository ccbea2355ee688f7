"""One timestamp format across the API (docs/api.md): RFC 3339 in UTC with Z, six fraction digits
when there is a fraction, whichever encoder answers (msgspec for the hot reads, ninja's for the rest)."""
from __future__ import annotations

import re

import pytest

from tenancy.roles import Role
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]
FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")
LOOKS_LIKE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def _times(value, path=""):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _times(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _times(inner, f"{path}[{i}]")
    elif isinstance(value, str) and LOOKS_LIKE_TIME.match(value):
        yield path, value


def test_every_endpoint_writes_times_one_way(tenant_a, api_as, sdk):
    sent = sdk.post("/api/v1/batch", {"batch": [
        {"type": "identify", "userId": "ada", "anonymousId": "a1", "traits": {"email": "ada@example.com"}, "messageId": "m1",
         "timestamp": "2026-03-01T10:00:00.250Z"},
        {"type": "track", "userId": "ada", "event": "Order Completed", "messageId": "m2", "timestamp": "2026-03-01T10:00:01Z"},
        {"type": "identify", "userId": "bob", "anonymousId": "a1", "messageId": "m3", "timestamp": "2026-03-01T10:00:02.123456Z"}]})
    assert sent.status_code == 200
    load_inbox()
    api = api_as(tenant_a, Role.ADMIN)
    cdp_id = api.get("/api/customers/lookup?type=user_id&value=ada").json()["cdp_id"]
    paths = ["/api/me", "/api/customers", f"/api/customers/{cdp_id}", f"/api/customers/{cdp_id}/events", f"/api/customers/{cdp_id}/changes",
             f"/api/customers/{cdp_id}/export", "/api/identity/conflicts", "/api/identity/merges", "/api/identity/runs",
             f"/api/identity/customers/{cdp_id}/graph", "/api/members", "/api/api-keys", "/api/write-keys", "/api/audit"]
    seen = []
    for path in paths:
        response = api.get(path)
        assert response.status_code == 200, (path, response.content[:300])
        for where, value in _times(response.json()):
            seen.append(value)
            assert FORMAT.match(value), f"{path}{where}: {value}"
    assert any(v.endswith(".250000Z") for v in seen), "a fraction is written with six digits, not cut to milliseconds"
    assert any(re.search(r":\d\dZ$", v) for v in seen) and len(seen) > 30
