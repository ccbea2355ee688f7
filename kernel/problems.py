"""RFC 9457 problem details: the one shape of every error the API and /health answer with."""
from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://cdp.dev/problems/"

TITLES = {
    400: "Bad request", 401: "Authentication required", 403: "Not allowed", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 413: "Request body too large",
    415: "Unsupported media type", 422: "Invalid input", 429: "Too many requests",
    500: "Internal server error", 503: "Service unavailable",
}


def problem_response(
    request: HttpRequest | None, *, status: int, detail: str, title: str | None = None,
    type_slug: str | None = None, errors: list[dict] | None = None, headers: dict | None = None,
) -> HttpResponse:
    body = {
        "type": PROBLEM_TYPE_BASE + (type_slug or str(status)),
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.path
        request_id = getattr(request, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    if errors:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body), status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def validation_errors(pydantic_errors: list[dict]) -> list[dict]:
    """Ninja/pydantic errors as `{field, message, type}`, the field as a dotted path."""
    out = []
    for error in pydantic_errors:
        loc = [str(part) for part in error.get("loc", ())]
        # ninja prefixes the source ("body", "query", "path") and the parameter name.
        if loc and loc[0] in ("body", "query", "path", "header", "cookie", "form"):
            source, loc = loc[0], loc[1:]
            if source == "body" and len(loc) > 1:
                loc = loc[1:]
        else:
            source = "body"
        out.append({"field": ".".join(loc) or source, "in": source, "message": error.get("msg", "invalid"), "type": error.get("type", "")})
    return out
