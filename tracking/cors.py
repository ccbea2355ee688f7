"""CORS for the tracking routes, answered before routing and authentication.

Browser SDKs on a customer's site send cross-origin requests with headers of their own
(`Authorization`, `AnonymousId`, `SentAt`), so the browser first sends a preflight `OPTIONS`; an
answer without `Access-Control-Allow-Origin` (the 404 or 405 a router gives) makes it drop the call
and the SDK retry from local storage until it gives up. Every answer on these routes, errors and
429 included, carries the CORS headers and exposes `Retry-After`, so an SDK can tell a refusal
from a network failure and wait as told.

Any origin is allowed (`*`): browsers send no cookies to these routes, and the write key decides
the tenant, not the origin.
"""
from __future__ import annotations

import re

from django.http import HttpResponse

TRACKING_PREFIXES = ("/api/v1/", "/api/beacon/", "/api/sourceConfig")
ALLOWED_METHODS = "GET, POST, OPTIONS"
# What the SDKs send; a preflight asking for other plain header names gets them too.
DEFAULT_HEADERS = "authorization, content-type, content-encoding, anonymousid, sentat, x-tenant-id, x-request-id"
_HEADER_LIST = re.compile(r"^[A-Za-z0-9\-, ]{0,500}$")
MAX_AGE_SECONDS = 86400


def is_tracking_path(path: str) -> bool:
    return path.startswith(TRACKING_PREFIXES)


class TrackingCorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_tracking_path(request.path):
            return self.get_response(request)
        if request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META:
            response = HttpResponse(status=204)
            asked = request.META.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
            response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response["Access-Control-Allow-Headers"] = asked if asked and _HEADER_LIST.match(asked) else DEFAULT_HEADERS
            response["Access-Control-Max-Age"] = str(MAX_AGE_SECONDS)
        else:
            response = self.get_response(request)
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Expose-Headers"] = "Retry-After, X-Request-ID"
        return response
