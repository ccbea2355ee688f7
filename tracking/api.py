"""Segment-compatible tracking API under /api/v1: existing Segment and RudderStack SDKs point here.

Authenticated by a write key (HTTP Basic, key as user name; the tenant comes from the key) or an
editor's API key with X-Tenant-ID. The answer comes only after the calls are committed.
"""
from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from tenancy.auth import IngestAuth
from tracking.services import ingest

router = Router(tags=["tracking"], auth=IngestAuth())

_BODY = {"requestBody": {"content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}}, "required": True}}


def _ingest(request: HttpRequest, implied_type: str | None) -> dict:
    result = ingest(tenant=request.auth.tenant, body=request.body,
                    content_encoding=request.headers.get("Content-Encoding", ""), implied_type=implied_type)
    return result.as_dict()


@router.post("/batch", summary="Send many calls at once (Segment's /v1/batch)", openapi_extra=_BODY)
def batch(request: HttpRequest):
    return _ingest(request, None)


def _single(call_type: str):
    def endpoint(request: HttpRequest):
        return _ingest(request, call_type)

    endpoint.__name__ = call_type
    return endpoint


for _call in ("identify", "track", "page", "screen", "group", "alias"):
    router.post(f"/{_call}", summary=f"Send one {_call} call", openapi_extra=_BODY, operation_id=f"tracking_{_call}")(_single(_call))
