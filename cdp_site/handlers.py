"""The WSGI application: token-authenticated API calls skip the console's middleware.

An API call that carries a Bearer or Basic `Authorization` and no cookie cannot use a session, a
CSRF token, flash messages, htmx or the console's tenant, yet those middlewares cost more than the
lakehouse read behind a profile lookup. Such calls go to a handler built from the same settings
without them (`CONSOLE_ONLY_MIDDLEWARE`); everything else (the console, the docs in a browser, any
request with a cookie, Databricks Apps users signed in by the proxy's headers) takes the full
chain. Both run the same URLs, views, request id, request log, security headers and content-type
rule.
"""
from __future__ import annotations

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.urls import get_resolver


def is_token_api_call(environ: dict) -> bool:
    """An API call whose credentials are in its Authorization header (Bearer or Basic: the API never
    looks at a session or the Databricks Apps user then) and that has no cookie."""
    scheme = environ.get("HTTP_AUTHORIZATION", "").lstrip()[:7].lower()
    return (environ.get("PATH_INFO", "").startswith("/api/") and scheme.startswith(("bearer ", "basic "))
            and not environ.get("HTTP_COOKIE"))


def api_middleware() -> list[str]:
    return [path for path in settings.MIDDLEWARE if path not in settings.CONSOLE_ONLY_MIDDLEWARE]


class ApiMiddlewareMixin:
    """For a Django handler class: build the chain from MIDDLEWARE without CONSOLE_ONLY_MIDDLEWARE."""

    def load_middleware(self, is_async=False):
        # Django builds the chain from settings.MIDDLEWARE and takes no other input; the swap
        # lasts while the handler is created (at import, before any request is served).
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = api_middleware()
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class ApiHandler(ApiMiddlewareMixin, WSGIHandler):
    pass


class Application:
    """Routes each request to the API handler or the full one (see the module docstring)."""

    def __init__(self):
        self.full = WSGIHandler()
        self.api = ApiHandler()
        # Django imports the URLconf (and with it every API module, pyarrow and scipy) on the
        # first request; do it now, so no caller waits half a second for it.
        get_resolver().url_patterns  # noqa: B018 (the access itself imports them)

    def __call__(self, environ, start_response):
        handler = self.api if is_token_api_call(environ) else self.full
        return handler(environ, start_response)
