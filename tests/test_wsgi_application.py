"""The WSGI application gunicorn serves: token API calls take the lean chain, everything else the full one."""
from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings
from django.core import signals
from django.db import close_old_connections

from cdp_site.handlers import Application, api_middleware, is_token_api_call


@pytest.fixture
def app(db):
    # As Django's test client does: the request signals would close the test's database
    # connection (and with it the transaction the test runs in) at every request's end.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield Application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def call(app, path, method="GET", body=b"", **headers):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    environ.update({f"HTTP_{k.upper()}" if k not in ("CONTENT_TYPE",) else k: v for k, v in headers.items()})
    setup_testing_defaults(environ)
    environ["SERVER_NAME"] = "localhost"
    answer = {}
    body = b"".join(app(environ, lambda status, headers: answer.update(status=int(status.split()[0]), headers=dict(headers))))
    return answer["status"], answer["headers"], body


@pytest.mark.parametrize("environ, lean", [
    ({"PATH_INFO": "/api/me", "HTTP_AUTHORIZATION": "Bearer x"}, True),
    ({"PATH_INFO": "/api/v1/batch", "HTTP_AUTHORIZATION": "basic eDo="}, True),
    ({"PATH_INFO": "/api/me", "HTTP_AUTHORIZATION": "Bearer x", "HTTP_COOKIE": ""}, True),
    ({"PATH_INFO": "/api/me", "HTTP_AUTHORIZATION": "Bearer x", "HTTP_COOKIE": "sessionid=abc"}, False),
    ({"PATH_INFO": "/api/me"}, False),  # a browser session or a Databricks Apps user
    ({"PATH_INFO": "/api/me", "HTTP_AUTHORIZATION": "Token x"}, False),
    ({"PATH_INFO": "/customers/", "HTTP_AUTHORIZATION": "Bearer x"}, False),
])
def test_which_requests_take_the_lean_chain(environ, lean):
    assert is_token_api_call(environ) is lean


def test_the_lean_chain_is_the_full_one_without_console_middleware():
    assert settings.CONSOLE_ONLY_MIDDLEWARE <= set(settings.MIDDLEWARE), "a console-only entry is not in MIDDLEWARE"
    lean = api_middleware()
    assert lean == [m for m in settings.MIDDLEWARE if m in lean]  # same order
    assert "django.middleware.security.SecurityMiddleware" in lean and "cdp_site.middleware.RequestIdMiddleware" in lean
    assert not set(lean) & settings.CONSOLE_ONLY_MIDDLEWARE


def test_token_call_answers_with_request_id_and_security_headers(app, tenant_a):
    status, headers, body = call(app, "/api/me", AUTHORIZATION=f"Bearer {tenant_a.keys['viewer']}", X_REQUEST_ID="req-123")
    assert status == 200 and json.loads(body)["kind"] == "apikey"
    assert headers["X-Request-ID"] == "req-123"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert "Set-Cookie" not in headers


def test_token_call_still_gets_the_content_type_rule_and_problem_details(app, tenant_a):
    status, headers, body = call(app, "/api/customers", method="POST", body=b"<x/>", CONTENT_TYPE="text/xml",
                                 AUTHORIZATION=f"Bearer {tenant_a.keys['editor']}")
    assert status == 415 and headers["Content-Type"] == "application/problem+json"
    status, headers, body = call(app, "/api/nowhere", AUTHORIZATION=f"Bearer {tenant_a.keys['viewer']}")
    assert status == 404 and json.loads(body)["status"] == 404


def test_a_signed_in_browser_takes_the_full_chain(app, console_as):
    browser = console_as("viewer")
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    status, _, body = call(app, "/api/me", COOKIE=cookie)
    assert status == 200 and json.loads(body)["kind"] == "user"
    status, _, _ = call(app, "/api/me")  # no session, no token
    assert status == 401
