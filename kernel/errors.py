"""Domain errors. Services raise these; `cdp_site.api` turns each into an RFC 9457 problem.

Each class names its HTTP status once, here, so the HTTP layer has one mapping and no view
chooses a status code by hand.
"""
from __future__ import annotations


class DomainError(Exception):
    status = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(self, detail: str, *, errors: list[dict] | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}


class AuthenticationFailed(DomainError):
    status, title, type_slug = 401, "Authentication required", "unauthenticated"


class PermissionDenied(DomainError):
    status, title, type_slug = 403, "Not allowed", "forbidden"


class NotFound(DomainError):
    status, title, type_slug = 404, "Not found", "not-found"


class Conflict(DomainError):
    status, title, type_slug = 409, "Conflict", "conflict"


class PayloadTooLarge(DomainError):
    status, title, type_slug = 413, "Request body too large", "payload-too-large"


class UnsupportedMediaType(DomainError):
    status, title, type_slug = 415, "Unsupported media type", "unsupported-media-type"


class InvalidInput(DomainError):
    status, title, type_slug = 422, "Invalid input", "validation-error"


class RateLimited(DomainError):
    status, title, type_slug = 429, "Too many requests", "rate-limited"


class ServiceUnavailable(DomainError):
    status, title, type_slug = 503, "Service unavailable", "unavailable"
