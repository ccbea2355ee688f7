"""Segments under /api/segments: definitions, preview, refresh, members (now and at a past time), history."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Field, Query, Router, Schema, Status

from kernel.errors import InvalidInput
from kernel.openapi import problems
from kernel.pagination import PageOut, PageParams
from segments import exports, selectors, services
from segments.lists import refs_from_csv
from segments.types import MemberRef
from tenancy.auth import TenantAuth

router = Router(tags=["segments"], auth=TenantAuth("segments"))

DEFINITION_HELP = ("A condition tree: groups {\"all\": [...]}, {\"any\": [...]}, {\"not\": ...} of conditions "
                   "(trait, event, identifier, consent, segment), as the SegmentDefinition schema describes (docs/segments.md). "
                   "Checked by the product itself, so a bad condition is answered 422 with its JSON path.")
# The definition travels as a JSON object checked by segments.definitions (which names the bad
# node by its path); its full, recursive schema is published as the SegmentDefinition component
# (cdp_site/api.py) rather than inlined here, where every client generator and fuzzer would
# expand it.
Definition = dict[str, Any]
DEFINITION_EXAMPLE = {"all": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"},
                              {"type": "event", "event": "Order Completed", "within_days": 30, "count": {"op": "gte", "value": 2}}]}


class SegmentIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    kind: Literal["rules", "manual"] = Field("rules", description="rules: the definition decides; manual: a list whose members are "
                                                                  "uploaded or edited (POST .../members), with no definition.")
    definition: Definition | None = Field(None, examples=[DEFINITION_EXAMPLE], description=DEFINITION_HELP + " Required for rules.")
    refresh_minutes: int = Field(5, ge=1, le=24 * 60)


class SegmentPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    definition: Definition | None = Field(None, description=DEFINITION_HELP)
    refresh_minutes: int | None = Field(None, ge=1, le=24 * 60)


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    kind: str
    definition: dict[str, Any]
    version: int
    refresh_minutes: int
    members: int
    last_refreshed_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class SegmentPreviewIn(Schema):
    definition: Definition = Field(..., examples=[DEFINITION_EXAMPLE], description=DEFINITION_HELP)


class SegmentPreviewOut(Schema):
    members: int
    sample: list[str] = Field(..., description="Up to 20 of them, by cdp_id.")


class SegmentMemberOut(Schema):
    cdp_id: str
    entered_at: datetime


class SegmentRunOut(Schema):
    id: int
    kind: str = Field(..., description="full, incremental (only customers whose data or time-relative conditions changed), "
                                       "manual (a list following merges), edit (a list's members changed), or auto while queued.")
    state: str
    version: int
    clock: datetime
    members: int
    entered: int
    exited: int
    error: str


class SegmentExportIn(Schema):
    name: str = Field(..., min_length=1, max_length=100, examples=["vip_customers"],
                      description="The table's name: lower-case letters, digits and single underscores. The table written is "
                                  "<export schema>.<tenant>_<tenant id>__<name> (docs/segments.md#export-to-a-table).")


class SegmentExportOut(Schema):
    id: int
    name: str
    table: str = Field(..., description="catalog.schema.table written.")
    state: str = Field(..., description="queued, running, succeeded or failed.")
    rows: int
    requested_by: str
    started_at: datetime
    finished_at: datetime | None
    error: str


class SegmentHistoryOut(Schema):
    day: str
    entered: int
    exited: int
    members: int


class MemberRefIn(Schema):
    cdp_id: str = Field("", max_length=64, description="The customer's id; or name it by an identifier:")
    type: str = Field("", max_length=32, description="An identifier type (email, user_id, phone, ...).")
    value: str = Field("", max_length=1024)


class ListEditIn(Schema):
    add: list[MemberRefIn] = Field(default_factory=list, max_length=10_000)
    remove: list[MemberRefIn] = Field(default_factory=list, max_length=10_000)
    replace: bool = Field(False, description="Make the list exactly `add` (those not in it leave).")


class ListEditOut(Schema):
    added: int
    removed: int
    members: int
    unknown: list[str] = Field(..., description="The first 20 references that name no customer of this tenant.")
    unknown_count: int


class ListImportQuery(Schema):
    mode: Literal["add", "remove", "replace"] = "add"


class CustomerSegmentOut(Schema):
    segment_id: int
    name: str
    entered_at: datetime


class RefreshQuery(Schema):
    full: bool = Field(True, description="Evaluate everyone (default), or false: only what changed since the last refresh.")


class SegmentMembersQuery(Schema):
    at: datetime | None = Field(None, description="Members at this past time, from the membership log (default: now).")


def _raw(payload: Schema, field: str):
    """The definition as the client sent it (JSON), checked with its paths by the services."""
    return getattr(payload, field)


@router.get("", response=PageOut[SegmentOut], summary="Segments, by name")
def segment_list(request: HttpRequest, page: Query[PageParams]):
    return selectors.segment_list(tenant=request.auth.tenant, limit=page.limit, offset=page.offset)


@router.post("", response={201: SegmentOut}, summary="Create a segment (refreshed every `refresh_minutes`)", openapi_extra=problems(409))
def segment_create(request: HttpRequest, payload: SegmentIn):
    return Status(201, services.segment_create(tenant=request.auth.tenant, name=payload.name, description=payload.description,
                                               definition=_raw(payload, "definition"), refresh_minutes=payload.refresh_minutes,
                                               actor=request.auth.actor, kind=payload.kind))


@router.post("/preview", response=SegmentPreviewOut, summary="How many customers a definition holds for now, and a sample, without saving")
def segment_preview(request: HttpRequest, payload: SegmentPreviewIn):
    definition = _raw(payload, "definition")
    services.definition_checked(request.auth.tenant, definition)
    return selectors.segment_preview(tenant=request.auth.tenant, definition=definition)


@router.get("/{segment_id}", response=SegmentOut, openapi_extra=problems(404))
def segment_get(request: HttpRequest, segment_id: int):
    return selectors.segment_get(tenant=request.auth.tenant, segment_id=segment_id)


@router.patch("/{segment_id}", response=SegmentOut, summary="Change a segment; a new definition is a new version",
              openapi_extra=problems(404, 409))
def segment_update(request: HttpRequest, segment_id: int, payload: SegmentPatch):
    changes = payload.model_dump(exclude_unset=True, exclude={"definition"})
    if payload.definition is not None:
        changes["definition"] = _raw(payload, "definition")
    return services.segment_update(tenant=request.auth.tenant, segment_id=segment_id, actor=request.auth.actor, changes=changes)


@router.delete("/{segment_id}", response={204: None}, summary="Delete a segment no other segment uses", openapi_extra=problems(404, 409))
def segment_delete(request: HttpRequest, segment_id: int):
    services.segment_delete(tenant=request.auth.tenant, segment_id=segment_id, actor=request.auth.actor)
    return Status(204, None)


@router.post("/{segment_id}/refresh", response={202: SegmentRunOut}, summary="Queue a refresh: who entered and who left",
             description="Answers 202 with the queued run; poll GET /api/segments/{id}/runs until its state is succeeded or failed.",
             openapi_extra=problems(404))
def segment_refresh(request: HttpRequest, response: HttpResponse, segment_id: int, query: Query[RefreshQuery]):
    run = services.segment_refresh_queue(tenant=request.auth.tenant, segment_id=segment_id, trigger=request.auth.actor, full=query.full)
    return Status(202, run)


@router.get("/{segment_id}/runs", response=list[SegmentRunOut], summary="The segment's last ten refreshes, newest first",
            openapi_extra=problems(404))
def segment_runs(request: HttpRequest, segment_id: int):
    return selectors.segment_runs(tenant=request.auth.tenant, segment_id=segment_id)


@router.get("/{segment_id}/members", response=PageOut[SegmentMemberOut], summary="Members now (newest first), or at a past time with `at`",
            openapi_extra=problems(404))
def segment_members(request: HttpRequest, segment_id: int, page: Query[PageParams], query: Query[SegmentMembersQuery]):
    return selectors.segment_members(tenant=request.auth.tenant, segment_id=segment_id, limit=page.limit, offset=page.offset, at=query.at)


@router.get("/{segment_id}/history", response=list[SegmentHistoryOut], summary="Entries, exits and size per day over the last 30 days",
            openapi_extra=problems(404))
def segment_history(request: HttpRequest, segment_id: int):
    return selectors.segment_history(tenant=request.auth.tenant, segment_id=segment_id)


@router.get("/{segment_id}/explain/{cdp_id}", response=dict[str, Any], summary="Why a customer is in the segment, or not",
            description="The definition's tree: at each node whether it holds now; at each condition the values it was decided on "
                        "(a trait's value and time, the matching calls' count, first and last time, the bucket...). `member` and "
                        "`member_since` say what the last refresh decided.", openapi_extra=problems(404))
def segment_explain(request: HttpRequest, segment_id: int, cdp_id: str):
    return selectors.segment_explain(tenant=request.auth.tenant, segment_id=segment_id, cdp_id=cdp_id)


def _refs(items: list[MemberRefIn], field: str) -> list[MemberRef]:
    refs, errors = [], []
    for i, item in enumerate(items):
        if item.cdp_id.strip():
            refs.append(MemberRef(cdp_id=item.cdp_id.strip()))
        elif item.type.strip() and item.value.strip():
            refs.append(MemberRef(id_type=item.type.strip().lower(), value=item.value.strip()))
        else:
            errors.append({"field": f"{field}[{i}]", "message": "a cdp_id, or an identifier type and value"})
    if errors:
        raise InvalidInput("Name each customer by cdp_id or by an identifier (type and value).", errors=errors)
    return refs


@router.post("/{segment_id}/members", response=ListEditOut, summary="Add customers to a manual list, or remove them",
             openapi_extra=problems(404, 409))
def segment_list_edit(request: HttpRequest, segment_id: int, payload: ListEditIn):
    return services.segment_list_edit(tenant=request.auth.tenant, segment_id=segment_id, actor=request.auth.actor,
                                      add=_refs(payload.add, "add"), remove=_refs(payload.remove, "remove"), replace=payload.replace)


@router.post("/{segment_id}/members/import", response=ListEditOut, summary="Upload a manual list's members as CSV",
             description="The body is CSV (text/csv) whose header names each column: cdp_id, or an identifier type (email, user_id, "
                         "phone, ...); each row names one customer by its first non-empty column. `mode` adds them, removes them, or "
                         "makes the list exactly the file.",
             openapi_extra={**problems(404, 409), "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}})
def segment_list_import(request: HttpRequest, segment_id: int, query: Query[ListImportQuery]):
    selectors.segment_get(tenant=request.auth.tenant, segment_id=segment_id)  # 404 before reading the file
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("The file is not UTF-8 text; export it as CSV UTF-8.", errors=[{"field": "body", "message": "UTF-8 CSV"}]) from None
    refs = refs_from_csv(text)
    return services.segment_list_edit(tenant=request.auth.tenant, segment_id=segment_id, actor=request.auth.actor,
                                      add=refs if query.mode != "remove" else [], remove=refs if query.mode == "remove" else [],
                                      replace=query.mode == "replace")


@router.get("/{segment_id}/members.csv", summary="The current members as CSV (cdp_id, entered_at, user_id, email)",
            openapi_extra={**problems(404), "responses": {200: {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}}})
def segment_members_csv(request: HttpRequest, segment_id: int):
    tenant = request.auth.tenant
    lines = selectors.segment_members_csv(tenant=tenant, segment_id=segment_id)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="segment-{segment_id}-{tenant.slug}.csv"'
    return response


@router.post("/{segment_id}/exports", response={202: SegmentExportOut}, summary="Write the members to a lakehouse table",
             description="On the Databricks (or Spark) engine: queues replacing a table with the current members (cdp_id, "
                         "entered_at, user_id, email), atomically on Delta, for tools that read Unity Catalog. Answers 202 with the "
                         "export; poll GET .../exports until it has succeeded or failed. 422 on an engine without tables "
                         "(download members.csv there).", openapi_extra=problems(404))
def segment_export(request: HttpRequest, segment_id: int, payload: SegmentExportIn):
    return Status(202, exports.segment_export(tenant=request.auth.tenant, segment_id=segment_id, name=payload.name,
                                                    actor=request.auth.actor))


@router.get("/{segment_id}/exports", response=list[SegmentExportOut], summary="The segment's last ten exports to a table, newest first",
            openapi_extra=problems(404))
def segment_exports(request: HttpRequest, segment_id: int):
    return selectors.segment_exports(tenant=request.auth.tenant, segment_id=segment_id)


customer_router = Router(tags=["segments"], auth=TenantAuth("segments"))


@customer_router.get("/{cdp_id}/segments", response=list[CustomerSegmentOut], summary="The segments a customer is in now, and since when",
                     openapi_extra=problems(404))
def customer_segments(request: HttpRequest, cdp_id: str):
    return selectors.customer_segments(tenant=request.auth.tenant, cdp_id=cdp_id, known=True)
