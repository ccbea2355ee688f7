"""Campaigns under /api/campaigns: drafts, previews, scheduling and approval, pause, resume,
cancel, duplicate, test sends, recipients, deliveries and the report."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from campaigns import report, selectors
from campaigns.services import campaigns as services
from campaigns.services.test_sends import campaign_test_send
from identity.selectors import customer_named
from kernel.errors import InvalidInput
from kernel.openapi import problems
from kernel.pagination import PageOut, PageParams
from messaging.selectors import delivery_page
from tenancy.auth import TenantAuth

router = Router(tags=["campaigns"], auth=TenantAuth("campaigns"))

DEFINITION_HELP = ("The campaign: audience (segments, exclusions, cap), channel, category and topic, variants (template and "
                   "weight), holdout_percent, schedule, throttle, maximum lateness, goal, winner selection, seeds and error "
                   "policy, as the CampaignDefinition schema describes (docs/campaigns.md).")
EXAMPLE = {"audience": {"segments": [1]}, "channel_id": 1, "category": "marketing", "topic": "newsletter",
           "variants": [{"key": "A", "template_id": 1}, {"key": "B", "template_id": 2}], "holdout_percent": 5,
           "schedule": {"type": "local", "date": "2026-12-07", "time": "09:00"}, "throttle_per_minute": 1000,
           "goal": {"event": "Order Completed", "within": {"days": 3}}}


class CampaignIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    definition: dict[str, Any] = Field(..., examples=[EXAMPLE], description=DEFINITION_HELP)


class CampaignPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    definition: dict[str, Any] | None = Field(None, description=DEFINITION_HELP)


class CampaignRunOut(Schema):
    number: int
    phase: str = Field(..., description="sending, testing (winner selection), completed or cancelled.")
    scheduled_for: datetime
    started_at: datetime
    test_ends_at: datetime | None
    winner: str
    decision: dict[str, Any] = Field(..., description="The winner's rule, each variant's figures and when it was decided.")
    completed_at: datetime | None
    counts: dict[str, int] = Field(..., description="Recipients by status: pending, waiting, queued, late, cancelled, none.")


class CampaignOut(Schema):
    id: int
    name: str
    description: str
    status: str = Field(..., description="draft, awaiting_approval, scheduled, running, paused, completed or cancelled.")
    status_reason: str
    definition: dict[str, Any]
    next_run_at: datetime | None
    approval_requested_by: str
    approved_by: str
    approved_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    runs: list[CampaignRunOut] = Field(..., description="Its sends, newest first (in GET /{id} only).")


class CampaignListQuery(PageParams):
    status: Literal["", "draft", "awaiting_approval", "scheduled", "running", "paused", "completed", "cancelled"] = ""
    q: str = Field("", max_length=200, description="Part of the name.")


class CampaignPreviewIn(Schema):
    definition: dict[str, Any] = Field(..., description=DEFINITION_HELP)
    customer: str = Field("", max_length=320, description="Also render every variant for this customer (a cdp id, email, user id, "
                                                           "anonymous id or phone) and say which group the send puts them in.")


class CampaignReachOut(Schema):
    in_segments: int = Field(..., description="Members of the segments, minus the exclusions.")
    audience: int = Field(..., description="After the cap.")
    everyone: bool = Field(..., description="The segments hold every customer (a send then needs approval).")
    no_address: int
    duplicate: int = Field(..., description="Sharing an address with another recipient (one message an address).")
    control: int = Field(..., description="In the tenant's global control group.")
    holdout: int
    no_consent: int = Field(..., description="Without consent to the topic now (decided again at send time).")
    reachable: int
    variants: dict[str, int]


class CampaignPreviewOut(Schema):
    reach: CampaignReachOut
    samples: list[dict[str, Any]] = Field(..., description="A few messages rendered for real customers of the audience, per variant.")
    templates: list[dict[str, Any]] = Field(..., description="Each variant's template: variant, template_id, name.")
    for_customer: dict[str, Any] = Field(..., description="With `customer`: cdp_id, in_audience, group (a variant, holdout, control, "
                                                         "duplicate, no_address, no_consent, '' for waiting for the winner, null outside "
                                                         "the audience) and samples (every variant rendered for them); else {}.")


class CampaignDuplicateIn(Schema):
    name: str = Field("", max_length=200, description="The copy's name (default: the name with “(copy)”).")


class CampaignTestSendIn(Schema):
    addresses: list[str] = Field(default_factory=list, max_length=20, description="Send every variant to these addresses...")
    customers: list[str] = Field(default_factory=list, max_length=20, description="...and to these customers (cdp_id or identifier), "
                                                                                  "outside consent and caps.")


class CampaignTestSendOut(Schema):
    queued: list[dict[str, Any]] = Field(..., description="Each test message: variant, to, delivery id.")


class CampaignRecipientOut(Schema):
    run: int
    cdp_id: str
    address: str
    group: str = Field(..., description="A variant's key, holdout, control, duplicate, no_address; '' while waiting for the winner.")
    seed: bool
    test: bool = Field(..., description="In the winner selection's test share.")
    send_at: datetime
    status: str
    queued_at: datetime | None
    delivery_key: str = Field(..., description="The idempotency key of its message (messaging's deliveries).")


class CampaignRecipientQuery(PageParams):
    run: int | None = Field(None, ge=1, le=2**31 - 1)
    group: str = Field("", max_length=20)
    status: Literal["", "pending", "waiting", "queued", "late", "cancelled", "none"] = ""


class CampaignDeliveryOut(Schema):
    delivery_id: str
    idempotency_key: str
    cdp_id: str
    template_id: int
    template_version: int
    status: str
    reason: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None


class CampaignDeliveryQuery(PageParams):
    status: str = Field("", max_length=16)


class CampaignGroupReportOut(Schema):
    group: str
    audience: int
    sent: int
    delivered: int
    failed: int
    skipped: int
    late: int = Field(..., description="Dropped past the maximum lateness.")
    opened: int
    clicked: int
    unsubscribed: int
    converted: int
    conversion_rate: float | None
    lift: float | None = Field(..., description="The conversion rate minus the holdout's.")
    interval: list[float] | None = Field(..., description="[low, high] of the lift, 95%.")


class CampaignReportOut(Schema):
    campaign_id: int
    run: int | None
    goal: dict[str, Any] | None
    method: str
    groups: list[CampaignGroupReportOut]
    runs: list[dict[str, Any]]


class CampaignReportQuery(Schema):
    run: int | None = Field(None, ge=1, le=2**31 - 1, description="One send (default: all of them).")


class CampaignPolicyIn(Schema):
    approval_threshold: int = Field(..., ge=0, le=10**9, description="Campaigns reaching more customers need a second admin's approval.")


class CampaignPolicyOut(Schema):
    approval_threshold: int
    updated_by: str


@router.get("", response=PageOut[CampaignOut], summary="Campaigns, newest first")
def campaign_list(request: HttpRequest, query: Query[CampaignListQuery]):
    return selectors.campaign_list(tenant=request.auth.tenant, limit=query.limit, offset=query.offset, status=query.status, q=query.q)


@router.post("", response={201: CampaignOut}, summary="Create a campaign (a draft)", openapi_extra=problems(409))
def campaign_create(request: HttpRequest, payload: CampaignIn):
    return Status(201, services.campaign_create(tenant=request.auth.tenant, name=payload.name, description=payload.description,
                                                definition=payload.definition, actor=request.auth.actor))


@router.post("/preview", response=CampaignPreviewOut, summary="Reachable count and sample messages of a definition (nothing is saved)")
def campaign_preview(request: HttpRequest, payload: CampaignPreviewIn):
    tenant = request.auth.tenant
    cdp_id = ""
    if payload.customer.strip():
        cdp_id = customer_named(tenant=tenant, who=payload.customer)
        if not cdp_id:
            raise InvalidInput(f"No customer matches {payload.customer.strip()[:100]}.",
                               errors=[{"field": "customer", "message": "a cdp id, email, user id, anonymous id or phone of a customer"}])
    return services.campaign_preview(tenant=tenant, definition=payload.definition, cdp_id=cdp_id)


@router.get("/policy", response=CampaignPolicyOut, auth=TenantAuth("campaign-approvals"), summary="The approval threshold")
def policy_get(request: HttpRequest):
    return services.policy_get(tenant=request.auth.tenant)


@router.put("/policy", response=CampaignPolicyOut, auth=TenantAuth("campaign-approvals"), summary="Set the approval threshold (admin)",
            openapi_extra=problems(403))
def policy_set(request: HttpRequest, payload: CampaignPolicyIn):
    return services.policy_set(tenant=request.auth.tenant, actor=request.auth.actor, approval_threshold=payload.approval_threshold)


@router.get("/{campaign_id}", response=CampaignOut, openapi_extra=problems(404))
def campaign_get(request: HttpRequest, campaign_id: int):
    return selectors.campaign_get(tenant=request.auth.tenant, campaign_id=campaign_id)


@router.patch("/{campaign_id}", response=CampaignOut, summary="Change a draft (a scheduled or sent campaign is duplicated instead)",
              openapi_extra=problems(404, 409))
def campaign_update(request: HttpRequest, campaign_id: int, payload: CampaignPatch):
    return services.campaign_update(tenant=request.auth.tenant, campaign_id=campaign_id, actor=request.auth.actor,
                                    changes=payload.model_dump(exclude_unset=True))


@router.post("/{campaign_id}/schedule", response=CampaignOut, summary="Schedule it (or ask for approval above the threshold)",
             openapi_extra=problems(404, 409))
def campaign_schedule(request: HttpRequest, campaign_id: int):
    return services.campaign_schedule(tenant=request.auth.tenant, campaign_id=campaign_id, actor=request.auth.actor)


@router.post("/{campaign_id}/approve", response=CampaignOut, auth=TenantAuth("campaign-approvals"),
             summary="Approve it (a second admin), which schedules it", openapi_extra=problems(403, 404, 409))
def campaign_approve(request: HttpRequest, campaign_id: int):
    return services.campaign_approve(tenant=request.auth.tenant, campaign_id=campaign_id, actor=request.auth.actor)


@router.post("/{campaign_id}/pause", response=CampaignOut, summary="Pause: nothing more is queued, queued messages are held",
             openapi_extra=problems(404, 409))
def campaign_pause(request: HttpRequest, campaign_id: int):
    return services.campaign_pause(tenant=request.auth.tenant, campaign_id=campaign_id, actor=request.auth.actor)


@router.post("/{campaign_id}/resume", response=CampaignOut, summary="Resume a paused campaign", openapi_extra=problems(404, 409))
def campaign_resume(request: HttpRequest, campaign_id: int):
    return services.campaign_resume(tenant=request.auth.tenant, campaign_id=campaign_id, actor=request.auth.actor)


@router.post("/{campaign_id}/cancel", response=CampaignOut, summary="Cancel: what is unsent is dropped", openapi_extra=problems(404, 409))
def campaign_cancel(request: HttpRequest, campaign_id: int):
    return services.campaign_cancel(tenant=request.auth.tenant, campaign_id=campaign_id, actor=request.auth.actor)


@router.post("/{campaign_id}/duplicate", response={201: CampaignOut}, summary="A draft copy", openapi_extra=problems(404, 409))
def campaign_duplicate(request: HttpRequest, campaign_id: int, payload: CampaignDuplicateIn):
    return Status(201, services.campaign_duplicate(tenant=request.auth.tenant, campaign_id=campaign_id, actor=request.auth.actor,
                                                   name=payload.name))


@router.post("/{campaign_id}/test-send", response=CampaignTestSendOut, summary="Send every variant to addresses or customers now",
             openapi_extra=problems(404))
def campaign_test(request: HttpRequest, campaign_id: int, payload: CampaignTestSendIn):
    return {"queued": campaign_test_send(tenant=request.auth.tenant, campaign_id=campaign_id, actor=request.auth.actor,
                                         addresses=payload.addresses, customers=payload.customers)}


@router.get("/{campaign_id}/recipients", response=PageOut[CampaignRecipientOut], summary="The audience snapshots: who, which group, status",
            openapi_extra=problems(404))
def campaign_recipients(request: HttpRequest, campaign_id: int, query: Query[CampaignRecipientQuery]):
    return selectors.recipient_page(tenant=request.auth.tenant, campaign_id=campaign_id, limit=query.limit, offset=query.offset,
                                    run=query.run, group=query.group, status=query.status)


@router.get("/{campaign_id}/deliveries", response=PageOut[CampaignDeliveryOut], summary="Its messages in the outbox, newest first",
            openapi_extra=problems(404))
def campaign_deliveries(request: HttpRequest, campaign_id: int, query: Query[CampaignDeliveryQuery]):
    row = selectors.campaign_row(request.auth.tenant, campaign_id)
    return delivery_page(tenant=request.auth.tenant, limit=query.limit, offset=query.offset, status=query.status,
                         source=services.source_of(row.id))


@router.get("/{campaign_id}/report", response=CampaignReportOut, summary="Per variant, holdout and seeds: sent, opened, converted, lift",
            openapi_extra=problems(404))
def campaign_report(request: HttpRequest, campaign_id: int, query: Query[CampaignReportQuery]):
    return report.campaign_report(tenant=request.auth.tenant, campaign_id=campaign_id, run=query.run)

