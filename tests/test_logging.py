"""One JSON line per request, and no secret in any log line."""
from __future__ import annotations

import base64
import io
import json
import logging

import pytest
from django.test import Client

from cdp_site.logging import RedactSecretsFilter
from tenancy.roles import Role
from tests.conftest import ApiClient
from tests.jwt_tokens import HS_SECRET, make_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_output():
    """What the configured console handler writes, as text."""
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RedactSecretsFilter) for f in h.filters))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def _request_lines(text: str) -> list[dict]:
    return [line for line in map(json.loads, filter(None, text.splitlines())) if line["logger"] == "cdp.request"]


def test_one_json_line_per_request_with_its_context(tenant_a, api_as, log_output):
    api_as(tenant_a, Role.VIEWER).get("/api/me", **{"X-Request-ID": "req-42"})
    [line] = _request_lines(log_output.getvalue())
    assert line["request_id"] == "req-42"
    assert (line["tenant"], line["method"], line["path"], line["status"]) == ("alpha", "GET", "/api/me", 200)
    assert line["principal"].startswith("apikey:cdp_ak_")
    assert isinstance(line["duration_ms"], float)


def test_no_secret_reaches_the_log(tenant_a, settings, log_output):
    settings.CDP_JWT_HS256_SECRET = HS_SECRET
    settings.RUNNING_AS_DATABRICKS_APP = True
    settings.CDP_APP_USER_DEFAULT_TENANT = tenant_a.slug
    api_key, write_key = tenant_a.keys[Role.ADMIN], tenant_a.write_key
    token = make_token(tenants={tenant_a.slug: "admin"})
    forwarded = "dapi0123456789abcdef0123456789abcdef"
    password = "hunter2-very-secret"

    ApiClient(token=api_key).get(f"/api/me?api_key={api_key}&token={token}")
    ApiClient(token=token).get("/api/no-such-path")
    basic = base64.b64encode(f"{write_key}:".encode()).decode()
    ApiClient(Authorization=f"Basic {basic}").get("/api/me")
    ApiClient(**{"X-Forwarded-Email": "ops@example.com", "X-Forwarded-Access-Token": forwarded}).get("/api/me")
    Client().post("/signin/", {"username": "nobody@example.com", "password": password})
    # Application code that carelessly logs a credential is scrubbed too.
    logging.getLogger("cdp.test").warning("calling upstream with Authorization: Bearer %s and key %s", token, api_key)
    try:
        raise ValueError(f"bad key {write_key}")
    except ValueError:
        logging.getLogger("cdp.test").exception("failed")

    text = log_output.getvalue()
    assert len(_request_lines(text)) == 5
    for secret in (api_key, write_key, token, forwarded, password, basic, HS_SECRET):
        assert secret not in text, f"a secret starting {secret[:10]!r} reached the log"
    assert "cdp_ak_" in text  # the key's public prefix stays, so operators can tell which key it was
