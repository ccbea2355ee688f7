"""Request id, the one request log line, NUL-free URLs, and the API's content-type rule."""
from __future__ import annotations

import logging
import os
import re
import time

from django.http import HttpResponseBadRequest

from cdp_site.logging import request_id_var
from kernel.problems import problem_response
from tenancy.invitations import loggable_path
from tracking.cors import TRACKING_PREFIXES

request_logger = logging.getLogger("cdp.request")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")


class RequestIdMiddleware:
    """Accept the caller's X-Request-ID when it is sane, otherwise make one; echo it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")  # not request.headers: see tenancy/auth.py
        # A made-up id is 32 random hex digits, as uuid4().hex was, without building a UUID.
        request.request_id = incoming if _VALID_REQUEST_ID.match(incoming) else os.urandom(16).hex()
        token = request_id_var.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


class RequestLogMiddleware:
    """One JSON line per request: id, tenant, principal, method, path, status, duration.

    The path is logged without its query string, which is where careless clients put tokens.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        if not request_logger.isEnabledFor(logging.INFO):
            return response
        context = getattr(request, "cdp_context", None)
        principal = getattr(request, "cdp_principal", None) or (context.principal if context else None)
        user = getattr(request, "user", None)
        if principal is None and user is not None and user.is_authenticated:
            principal_label = f"user:{user.username}"
        else:
            principal_label = principal.label if principal else None
        console_tenant = getattr(request, "tenant", None)
        tenant = context.tenant.slug if context else (console_tenant.slug if console_tenant else None)
        request_logger.info(
            "%s %s %s", request.method, loggable_path(request.path), response.status_code,
            extra={
                "cdp_tenant": tenant, "cdp_principal": principal_label, "cdp_method": request.method,
                "cdp_path": loggable_path(request.path), "cdp_status": response.status_code,
                "cdp_duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response


class NulInUrlMiddleware:
    """A URL holding a NUL character (`%00`) is refused before any view: no identifier, id or name
    can hold one, and PostgreSQL refuses it in any statement (a 500 otherwise)."""

    MESSAGE = "The URL contains a NUL character (%00), which no identifier, id or search can hold; remove it."

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.path:
            if request.path.startswith("/api/"):
                return problem_response(request, status=400, type_slug="malformed-url", detail=self.MESSAGE)
            return HttpResponseBadRequest(self.MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class ApiContentTypeMiddleware:
    """API writes with a body must say they are JSON (415 otherwise), before any parsing. Tracking
    routes take JSON whatever the declared type (`text/plain` from browser SDKs, form-urlencoded
    gzip from some server SDKs, none), as Segment's and RudderStack's servers do; what is not JSON
    is still refused there (400)."""

    ACCEPTED = ("application/json", "text/plain")  # Segment's browser SDK beacons send text/plain
    # Uploads whose body is a file: a manual list's members as CSV.
    CSV_ROUTES = re.compile(r"^/api/segments/\d+/members/import$")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.path.startswith("/api/")
            and not request.path.startswith(TRACKING_PREFIXES)
            and request.method in ("POST", "PUT", "PATCH")
            and int(request.META.get("CONTENT_LENGTH") or 0) > 0
        ):
            content_type = request.content_type or ""
            csv_ok = content_type == "text/csv" and self.CSV_ROUTES.match(request.path)
            if content_type not in self.ACCEPTED and not content_type.endswith("+json") and not csv_ok:
                return problem_response(
                    request, status=415, type_slug="unsupported-media-type",
                    detail=f"Send the body as application/json, not {content_type or 'an unnamed type'}.",
                )
        return self.get_response(request)
