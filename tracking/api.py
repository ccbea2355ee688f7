"""Segment-compatible tracking API: existing Segment and RudderStack SDKs point here unchanged.

- `/api/v1/batch` and `/api/v1/{identify,track,page,screen,group,alias}` (Segment's HTTP API, and
  RudderStack's data plane with `dataPlaneUrl` = `https://<host>/api`);
- Segment's short paths `/api/v1/{t,i,p,s,g,a,b}`, which `@segment/analytics-next` posts to;
- `/api/beacon/v1/batch?writeKey=` (RudderStack's beacon mode);
- the settings SDKs read before sending: `/api/v1/projects/{writeKey}/settings` (analytics-next's
  `cdnURL` = `https://<host>/api`) and `/api/sourceConfig/` (RudderStack's `configUrl`).

Authenticated by a write key (HTTP Basic user name, `writeKey` in the body, or on the beacon route
`?writeKey=`; the tenant comes from the key) or an editor's API key with X-Tenant-ID. The answer
comes only after the calls are committed. CORS is answered before any of this
(`tracking.cors.TrackingCorsMiddleware`), so browsers on any site can send.
"""
from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from kernel.errors import AuthenticationFailed
from kernel.openapi import problems
from tenancy.auth import IngestAuth
from tenancy.principals import basic_credentials
from tenancy.selectors import write_key_tenant
from tracking.services import ingest

router = Router(tags=["tracking"], auth=IngestAuth())
beacon_router = Router(tags=["tracking"], auth=IngestAuth())
source_config_router = Router(tags=["tracking"], auth=None)  # the key is in the query (or Basic): checked by the operation

_BODY = {"requestBody": {"content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}}, "required": True}}
CALL_TYPES = ("identify", "track", "page", "screen", "group", "alias")
SHORT_PATHS = {"t": "track", "i": "identify", "p": "page", "s": "screen", "g": "group", "a": "alias"}  # analytics-next's


def _ingest(request: HttpRequest, implied_type: str | None) -> dict:
    result = ingest(tenant=request.auth.tenant, body=request.body, content_encoding=request.headers.get("Content-Encoding", ""),
                    implied_type=implied_type, parsed=getattr(request, "cdp_body", None), source=request.auth.principal.label)
    return result.as_dict()


@router.post("/batch", summary="Send many calls at once (Segment's /v1/batch)", openapi_extra=_BODY)
def batch(request: HttpRequest):
    return _ingest(request, None)


@router.post("/b", include_in_schema=False)
def batch_short(request: HttpRequest):
    return _ingest(request, None)


@beacon_router.post("/v1/batch", summary="Send many calls from a beacon (RudderStack's beacon mode: ?writeKey=)", openapi_extra=_BODY)
def beacon_batch(request: HttpRequest):
    return _ingest(request, None)


def _single(call_type: str):
    def endpoint(request: HttpRequest):
        return _ingest(request, call_type)

    endpoint.__name__ = call_type
    return endpoint


for _call in CALL_TYPES:
    router.post(f"/{_call}", summary=f"Send one {_call} call", openapi_extra=_BODY, operation_id=f"tracking_{_call}")(_single(_call))
for _short, _call in SHORT_PATHS.items():
    router.post(f"/{_short}", include_in_schema=False, operation_id=f"tracking_short_{_short}")(_single(_call))


def _tenant_of(write_key: str):
    tenant = write_key_tenant(write_key=write_key)
    if tenant is None:
        raise AuthenticationFailed("This write key is unknown or has been revoked.")
    return tenant


@router.get("/projects/{write_key}/settings", auth=None, summary="Settings for Segment's analytics-next (its cdnURL)",
            description="What analytics-next reads from its CDN before sending: the Segment.io destination with this "
                        "server as its `apiHost`. Answered for a valid write key only.", openapi_extra=problems(401))
def segment_settings(request: HttpRequest, write_key: str):
    _tenant_of(write_key)
    return {
        "integrations": {"Segment.io": {"apiKey": write_key, "apiHost": f"{request.get_host()}/api/v1", "protocol": request.scheme,
                                        "unbundledIntegrations": [], "addBundledMetadata": False}},
        "plan": {"track": {"__default": {"enabled": True, "integrations": {}}}, "identify": {"__default": {"enabled": True}},
                 "group": {"__default": {"enabled": True}}},
        "edgeFunction": {}, "analyticsNextEnabled": True, "middlewareSettings": {}, "enabledMiddleware": {},
        "metrics": {"sampleRate": 0}, "legacyVideoPluginsEnabled": False, "remotePlugins": [],
    }


@source_config_router.get("/", summary="Source configuration for RudderStack's JavaScript SDK v3 (its configUrl)",
                          description="`?writeKey=` (or the write key as the HTTP Basic user name). No destinations: the "
                                      "SDK sends every call to the data plane, this server.", openapi_extra=problems(401))
def rudderstack_source_config(request: HttpRequest, writeKey: str = ""):  # noqa: N803 - the SDK's parameter name
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    key = writeKey or (basic_credentials(credentials.strip()) if scheme.lower() == "basic" else "") or ""
    tenant = _tenant_of(key)
    disabled = {"enabled": False}
    return {"isHosted": False, "source": {
        "id": tenant.slug, "name": tenant.name or tenant.slug, "writeKey": key, "enabled": True, "workspaceId": tenant.slug,
        "config": {"statsCollection": {"errors": disabled, "metrics": disabled}}, "destinations": []}}
