"""The one NinjaAPI, mounted at /api: routers, auth, throttling, and errors as problem details."""
from __future__ import annotations

import logging
from datetime import datetime

from csp.decorators import csp_update
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Redoc, Swagger
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled, ValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder

from campaigns.definition import openapi_components as campaign_definition_components
from journeys.graph import openapi_components as journey_definition_components
from kernel.errors import DomainError
from kernel.jsontext import JsonRejected, loads_storable
from kernel.openapi import document_problems
from kernel.problems import problem_response, validation_errors
from kernel.times import api_time
from lakehouse.errors import BadStatement, LakehouseError
from segments.definitions import openapi_components as segment_definition_components
from tenancy.auth import PrincipalRateThrottle, TenantAuth
from tracking.cors import TRACKING_PREFIXES

logger = logging.getLogger("cdp.api")


class StrictJsonParser(Parser):
    """Request bodies as strict JSON (no NaN, no lone surrogates, no NUL): what cannot be stored is
    refused with a 400 that says why, not accepted and failed on later."""

    def parse_body(self, request: HttpRequest):
        return loads_storable(request.body.decode("utf-8"))


# The docs pages run under the console's policy (scripts from this site only; templates/ninja/redoc.html
# has no inline script), plus what Swagger UI and ReDoc need: inline styles (both set style
# attributes; ReDoc's styled-components write <style> elements) and ReDoc's search worker, which
# it starts from a blob: URL.
DOCS_POLICY = csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]})

# Operations of these tags read or write the lakehouse, so can answer 503 when it is away.
LAKEHOUSE_TAGS = frozenset({"customers", "computed traits", "identity"})


class ApiJSONEncoder(NinjaJSONEncoder):
    """ninja's encoder with the API's one timestamp format (Django's cuts times to milliseconds)."""

    def default(self, o):
        if isinstance(o, datetime):
            return api_time(o)
        return super().default(o)


class ApiJSONRenderer(JSONRenderer):
    encoder_class = ApiJSONEncoder


class CdpApi(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """ninja's document plus the problem responses of every operation (kernel/openapi.py)."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {}).update(segment_definition_components())
        schema["components"]["schemas"].update(journey_definition_components())
        schema["components"]["schemas"].update(campaign_definition_components())
        return document_problems(schema, tracking_prefixes=TRACKING_PREFIXES, lakehouse_tags=LAKEHOUSE_TAGS)


# The docs pages and the schema are public (they hold no data); every operation authenticates.
api = CdpApi(
    title="Customer Data Platform API",
    version="1.0.0",
    description=(
        "REST API of the lakehouse-native CDP. Authenticate with `Authorization: Bearer <API key or JWT>`; "
        "choose the tenant with `X-Tenant-ID` (its slug) when your credentials reach several. Errors are "
        "RFC 9457 problem details (`application/problem+json`). Lists page with `limit` and `offset`."
    ),
    # Each router names its area of the role table; one that forgot would need admin.
    auth=TenantAuth("settings"),
    parser=StrictJsonParser(),
    renderer=ApiJSONRenderer(),
    throttle=[PrincipalRateThrottle()],
    docs=Swagger(),
    docs_url="/docs",
    docs_decorator=DOCS_POLICY,
    urls_namespace="api",
)


@DOCS_POLICY
def redoc_view(request: HttpRequest) -> HttpResponse:
    """ReDoc at /api/redoc beside Swagger at /api/docs (ninja serves one UI per API)."""
    return Redoc().render_page(request, api)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return problem_response(request, status=exc.status, title=exc.title, type_slug=exc.type_slug, detail=exc.detail, errors=exc.errors, headers=exc.headers)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = validation_errors(exc.errors)
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return problem_response(request, status=422, type_slug="validation-error", detail=f"Some fields are invalid: {fields}.", errors=errors)


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem_response(request, status=401, type_slug="unauthenticated", detail="Send an API key or JWT as 'Authorization: Bearer <token>'.")


@api.exception_handler(AuthorizationError)
def _authorization_error(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return problem_response(request, status=403, type_slug="forbidden", detail=str(exc))


@api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    wait = int(exc.wait or 1)
    return problem_response(request, status=429, type_slug="rate-limited", detail=f"Too many requests; retry in {wait} s.", headers={"Retry-After": str(wait)})


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):
        return problem_response(request, status=400, type_slug="malformed-body", detail="The request body is not UTF-8 text.")
    if isinstance(cause, JsonRejected):
        return problem_response(request, status=400, type_slug="malformed-body", detail=str(cause))
    return problem_response(request, status=exc.status_code, detail=str(exc))


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return problem_response(request, status=413, type_slug="payload-too-large", detail="The request body is larger than this server accepts.")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(request, status=404, type_slug="not-found", detail=str(exc) or "Not found.")


@api.exception_handler(LakehouseError)
def _lakehouse_error(request: HttpRequest, exc: LakehouseError) -> HttpResponse:
    """The customer-data store is missing, refusing us or away: 503, saying what an operator does.
    A rejected statement is our bug and stays a logged 500."""
    if isinstance(exc, BadStatement):
        return _unexpected(request, exc)
    logger.error("lakehouse unavailable in %s %s: %s", request.method, request.path, type(exc).__name__)
    headers = {"Retry-After": "30"} if exc.retryable else None
    return problem_response(request, status=503, type_slug="lakehouse-unavailable", detail=str(exc), headers=headers)


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unhandled error in %s %s", request.method, request.path)
    return problem_response(request, status=500, type_slug="internal", detail="Something went wrong on our side; the error is logged with this request id.")


def _mount_routers() -> None:
    from campaigns.api import router as campaigns_router
    from customers.api import router as customers_router
    from customers.computed_api import router as computed_traits_router
    from identity.api import router as identity_router
    from journeys.api import customer_router as customer_journeys_router
    from journeys.api import router as journeys_router
    from messaging.api import channel_router as messaging_channels_router
    from messaging.api import customer_router as customer_messages_router
    from messaging.api import router as messaging_router
    from operations.api import router as operations_router
    from segments.api import customer_router as customer_segments_router
    from segments.api import router as segments_router
    from tenancy.api import router as tenancy_router
    from tracking.api import beacon_router, source_config_router
    from tracking.api import router as tracking_router

    # Django tries URL patterns in order, one regex each, so the busiest routes come first:
    # customer reads (one per request), then ingestion (a hundred calls per request); a batch POST
    # used to try 49 patterns before its own.
    # Before /customers, whose /{cdp_id} would otherwise take "computed-traits" for an id.
    api.add_router("/customers/computed-traits", computed_traits_router)
    api.add_router("/customers", customers_router)
    api.add_router("/customers", customer_segments_router)  # /customers/{id}/segments: segments' own read
    api.add_router("/v1", tracking_router)
    api.add_router("/beacon", beacon_router)
    api.add_router("/sourceConfig", source_config_router)
    api.add_router("/identity", identity_router)
    api.add_router("/segments", segments_router)
    api.add_router("/messaging/channels", messaging_channels_router)
    api.add_router("/messaging", messaging_router)
    api.add_router("/customers", customer_messages_router)  # /customers/{id}/messages: messaging's own read
    api.add_router("/journeys", journeys_router)
    api.add_router("/customers", customer_journeys_router)  # /customers/{id}/journeys: journeys' own read
    api.add_router("/campaigns", campaigns_router)
    api.add_router("/", tenancy_router)
    api.add_router("/operations", operations_router)


_mount_routers()
