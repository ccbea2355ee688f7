"""Authentication for the API: who is calling, which tenant they act in, and with what role.

One class, `TenantAuth`, serves every router; the role an operation needs is its area's in the
role table (`tenancy.roles.ROLE_TABLE`), for reading or for changing by its method.
`IngestAuth` is the only one that accepts write keys.
"""
from __future__ import annotations

import threading
import time

from django.conf import settings
from django.http import HttpRequest
from ninja.security.base import AuthBase
from ninja.throttling import BaseThrottle
from ninja.utils import check_csrf

from kernel.clients import is_cross_site
from kernel.errors import AuthenticationFailed, DomainError, PermissionDenied
from kernel.ratelimit import take_token
from kernel.segment.body import read_json
from tenancy.keycache import key_lookup
from tenancy.models import WriteKey
from tenancy.principals import basic_credentials, bearer_principal, session_principal
from tenancy.roles import area_role, role_allows
from tenancy.selectors import tenants_for
from tenancy.types import Principal, TenantContext

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
TENANT_HEADER = "X-Tenant-ID"
# Read from META: `request.headers` copies every header into a new mapping on first use, a
# measurable part of a profile read, and these two are all authentication needs.
_AUTHORIZATION, _TENANT = "HTTP_AUTHORIZATION", "HTTP_X_TENANT_ID"


class TenantRequired(DomainError):
    status, title, type_slug = 400, "Tenant not chosen", "tenant-required"


def request_principal(request: HttpRequest) -> Principal:
    """The caller, from the Authorization header or else the console session."""
    scheme, _, credentials = request.META.get(_AUTHORIZATION, "").strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and credentials.strip():
        return bearer_principal(credentials.strip())
    if scheme == "basic":
        raise AuthenticationFailed("HTTP Basic carries write keys, which only send events (/api/v1/*); use 'Authorization: Bearer <API key>'.")
    principal = session_principal(getattr(request, "user", None))
    if principal is None:
        raise AuthenticationFailed("Send an API key or JWT as 'Authorization: Bearer <token>', or sign in to the console.")
    # Browser sessions carry ambient credentials, so their writes need the CSRF token. A
    # Databricks Apps identity is ambient too, and may come with no cookie at all (the proxy
    # authenticates the browser itself): then no token can exist, and the browser's own word on
    # where the request comes from (Sec-Fetch-Site, Origin) decides.
    if request.method not in SAFE_METHODS:
        if request.COOKIES:
            if check_csrf(request) is not None:
                raise PermissionDenied("The CSRF token is missing or wrong; reload the page and try again.")
        elif getattr(request, "cdp_forwarded_identity", False) and is_cross_site(request):
            raise PermissionDenied("This change was sent from another site's page; make it from this app's own pages, "
                                   "or call the API with an API key.")
    return principal


def tenant_context(principal: Principal, requested: str | None) -> TenantContext:
    """Select the tenant among those the principal may access; the header never grants access."""
    options = list(principal.tenants) or tenants_for(principal)
    if requested:
        chosen = [(tenant, role) for tenant, role in options if tenant.slug == requested.strip()]
        if not chosen:
            raise PermissionDenied(f"You have no access to tenant '{requested}', or it does not exist.")
    elif len(options) == 1:
        chosen = options
    elif not options:
        raise PermissionDenied("These credentials belong to no tenant yet; ask an admin to add you.")
    else:
        slugs = ", ".join(tenant.slug for tenant, _ in options)
        raise TenantRequired(f"Send the {TENANT_HEADER} header: you have access to several tenants ({slugs}).")
    tenant, role = chosen[0]
    return TenantContext(principal=principal, tenant=tenant, role=role)


class TenantAuth(AuthBase):
    openapi_type = "http"
    openapi_scheme = "bearer"
    openapi_description = "An API key (`cdp_ak_...`) or a JWT, plus `X-Tenant-ID` when the caller has several tenants."

    def __init__(self, area: str):
        super().__init__()
        area_role(area, write=False)  # an unknown area fails at import, not on the first request
        self.area = area

    def __call__(self, request: HttpRequest) -> TenantContext:
        principal = request_principal(request)
        request.cdp_principal = principal
        context = tenant_context(principal, request.META.get(_TENANT))
        request.cdp_context = context
        need = area_role(self.area, write=request.method not in SAFE_METHODS)
        if not role_allows(context.role, need):
            raise PermissionDenied(f"This needs the {need} role in '{context.tenant.slug}'; you are {context.role}.")
        return context


class PrincipalAuth(AuthBase):
    """Authenticated, but no tenant chosen yet: for discovering one's tenants."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __call__(self, request: HttpRequest) -> Principal:
        principal = request_principal(request)
        request.cdp_principal = principal
        return principal


class IngestAuth(AuthBase):
    """Write keys, where each SDK puts them: the HTTP Basic user name (Segment's and RudderStack's
    SDKs), `writeKey` in the body (Segment's browser SDK, whose older versions send no header), or
    `?writeKey=` on the beacon route (a beacon cannot set headers); or an editor's bearer token.

    A body read for its write key is kept on the request (`cdp_body`), so ingestion does not read
    it twice."""

    openapi_type = "http"
    openapi_scheme = "basic"
    openapi_description = ("The write key as the HTTP Basic user name (empty password); browsers may instead send it as "
                           "`writeKey` in the body, or `?writeKey=` on /api/beacon/v1/batch.")

    def __call__(self, request: HttpRequest) -> TenantContext:
        scheme, _, credentials = request.META.get(_AUTHORIZATION, "").strip().partition(" ")
        if scheme.lower() == "basic":
            return self._write_key(request, basic_credentials(credentials.strip()) or "")
        if not scheme:
            secret = request.GET.get("writeKey", "") if request.path.startswith(BEACON_PATH) else _body_write_key(request)
            if secret:
                return self._write_key(request, secret)
        principal = request_principal(request)
        request.cdp_principal = principal
        context = tenant_context(principal, request.META.get(_TENANT))
        request.cdp_context = context
        need = area_role("events", write=True)
        if not role_allows(context.role, need):
            raise PermissionDenied(f"Sending events needs a write key or the {need} role; you are {context.role}.")
        return context


    @staticmethod
    def _write_key(request: HttpRequest, secret: str) -> TenantContext:
        known = key_lookup(secret) if secret.startswith(WriteKey.PREFIX) else None
        if known is None:
            raise AuthenticationFailed("This write key is unknown or has been revoked.")
        origin = request.META.get("HTTP_ORIGIN", "").rstrip("/").lower()
        if known.principal.origins and origin and origin not in known.principal.origins:
            raise PermissionDenied(f"This write key only takes calls from its allowed origins, not {origin}; "
                                   "add it to the key's allowed origins, or use another key.")
        context = TenantContext(principal=known.principal, tenant=known.tenant, role="ingest")
        request.cdp_principal, request.cdp_context = context.principal, context
        requested = request.META.get(_TENANT)
        if requested and requested.strip() != context.tenant.slug:
            raise PermissionDenied(f"This write key belongs to another tenant than '{requested}'.")
        return context


BEACON_PATH = "/api/beacon/"


def _body_write_key(request: HttpRequest) -> str:
    """`writeKey` of a tracking body (of the batch, or of its first call). A body that cannot be
    read says so later, in ingestion's own words; here it only has no key."""
    try:
        body = read_json(request.body, content_encoding=request.META.get("HTTP_CONTENT_ENCODING", ""))
    except DomainError:
        return ""
    request.cdp_body = body
    data = body.data
    if not isinstance(data, dict):
        return ""
    key = data.get("writeKey")
    if not key and isinstance(data.get("batch"), list) and data["batch"] and isinstance(data["batch"][0], dict):
        key = data["batch"][0].get("writeKey")
    return key if isinstance(key, str) else ""


class PrincipalRateThrottle(BaseThrottle):
    """Requests per minute per principal (API key, token subject or user): a token bucket
    (kernel/ratelimit.py). The instance is shared by every request and thread, so the one
    thing it keeps, the wait to report in Retry-After, is kept per thread."""

    clock = staticmethod(time.time)

    def __init__(self):
        self._last = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        # The setting is read per request so a changed limit applies without a restart. A write key
        # is shared by every browser of a site, so it has its own, per-second limit (Segment's
        # documented 1,000 requests per second per source by default).
        principal = getattr(request, "cdp_principal", None)
        if principal is None:
            return True
        limit = (settings.CDP_INGEST_RATE_LIMIT_PER_SECOND * 60 if principal.kind == "writekey"
                 else settings.CDP_API_RATE_LIMIT_PER_MINUTE)
        if limit <= 0:
            return True
        self._last.wait = take_token(f"throttle_principal_{principal.label}", limit, self.clock())
        return self._last.wait == 0

    def wait(self) -> float | None:
        return getattr(self._last, "wait", None)
