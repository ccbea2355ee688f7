"""The problem responses of every operation, written into the OpenAPI document.

Generated clients learn the error shapes from the document, so each operation lists the RFC 9457
problems it can answer with (`application/problem+json`, one `Problem` schema). Most follow from
the operation's shape, decided here once:

- every operation: 400 (a malformed URL or body, a tenant not chosen) and 429 (rate limits);
- authenticated ones: 401 and 403; with `X-Tenant-ID` declared as the optional header it is;
- path parameters: 404; a body, path or query parameters: 422; a body: 413 and, outside the tracking
  routes (which take JSON whatever its declared type, as Segment's servers do), 415.

What does not follow from the shape the operation declares with `openapi_extra=problems(...)`
(409 on a conflict, 404 of a lookup by query); 503 goes on every operation of the tags that read
or write the lakehouse (`cdp_site.api` names them); `tests/test_api_contract.py` runs a property-based contract
test (schemathesis) that fails on any status the document does not list.
"""
from __future__ import annotations

from kernel.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE, TITLES

_METHODS = ("get", "put", "post", "patch", "delete")
_DESCRIPTIONS = {
    400: "Malformed request: the URL or body cannot be read, or the caller must choose a tenant (`X-Tenant-ID`).",
    401: "No credentials, or unknown, expired or revoked ones.",
    403: "Authenticated, but the role (or the key's kind or origin) does not allow this.",
    404: "No such resource in this tenant.",
    409: "The request conflicts with the resource's state; the detail says how to resolve it.",
    413: "The request body is larger than this server accepts.",
    415: "The body is not declared as JSON.",
    422: "Some fields are invalid; `errors` lists each with its field and message.",
    429: "Too many requests; retry after `Retry-After` seconds.",
    503: "The customer-data store (lakehouse) is unavailable or not migrated; retry later or ask an operator.",
}
PROBLEM_SCHEMA = {
    "type": "object",
    "title": "Problem",
    "description": "An RFC 9457 problem document.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri", "description": f"A URI naming the kind of problem ({PROBLEM_TYPE_BASE}...)."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What went wrong and what to do about it."},
        "instance": {"type": "string", "description": "The request's path."},
        "request_id": {"type": "string", "description": "The request id, as in `X-Request-ID` and the logs."},
        "errors": {
            "type": "array",
            "description": "Per-field errors (422; some 400).",
            "items": {"type": "object", "properties": {
                "field": {"type": "string"}, "in": {"type": "string"}, "message": {"type": "string"},
                "type": {"type": "string"}, "index": {"type": "integer"},
            }, "required": ["field", "message"]},
        },
    },
}
TENANT_HEADER = {
    "name": "X-Tenant-ID", "in": "header", "required": False, "schema": {"type": "string"},
    "description": "The tenant's slug, when the credentials reach several tenants.",
}


def problems(*statuses: int) -> dict:
    """`openapi_extra` for an operation that can also answer with these problem statuses."""
    return {"responses": {str(status): _ref(status) for status in statuses}}


def _ref(status: int) -> dict:
    return {"$ref": f"#/components/responses/Problem{status}"}


def document_problems(schema: dict, *, tracking_prefixes: tuple[str, ...], lakehouse_tags: frozenset[str]) -> dict:
    """Add the problem responses (and the tenant header) to every operation of `schema`."""
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components["responses"] = {
        f"Problem{status}": {
            "description": f"{TITLES[status]}. {description}",
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            **({"headers": {"Retry-After": {"schema": {"type": "integer"}}}} if status in (429, 503) else {}),
        }
        for status, description in _DESCRIPTIONS.items()
    }
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            if operation.get("tags"):  # a nested router repeats its parent's tag
                operation["tags"] = list(dict.fromkeys(operation["tags"]))
            statuses = _statuses(path, operation, tracking_prefixes)
            if lakehouse_tags.intersection(operation.get("tags") or ()):
                statuses.append(503)
            for status in statuses:
                operation["responses"].setdefault(str(status), _ref(status))
            if any(s.get("TenantAuth") is not None for s in operation.get("security") or ()):
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == TENANT_HEADER["name"] for p in parameters):
                    parameters.append(TENANT_HEADER)
    return schema


def _statuses(path: str, operation: dict, tracking_prefixes: tuple[str, ...]) -> list[int]:
    sources = {parameter.get("in") for parameter in operation.get("parameters", ())}
    out = [400, 429]
    if operation.get("security"):
        out += [401, 403]
    if "path" in sources:
        out.append(404)
    if "requestBody" in operation:
        out += [413] + ([] if path.startswith(tracking_prefixes) else [415])
    if "requestBody" in operation or sources & {"path", "query"}:
        out.append(422)
    return out
