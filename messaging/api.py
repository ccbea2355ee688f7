"""Messaging under /api/messaging: channels (admin), templates, topics, deliveries and test sends."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from customers.selectors import customer_get
from kernel.openapi import problems
from kernel.pagination import PageOut, PageParams
from messaging import selectors
from messaging.channels.sms import sms_segments
from messaging.services import channels, drain, feedback, outbox, policies, templates, topics
from messaging.types import SendRequest
from tenancy.auth import TenantAuth

router = Router(tags=["messaging"], auth=TenantAuth("messaging"))
channel_router = Router(tags=["messaging"], auth=TenantAuth("channels"))
customer_router = Router(tags=["messaging"], auth=TenantAuth("messaging"))

Kind = Literal["email", "webhook", "sms", "table"]


class ChannelIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    kind: Kind
    config: dict[str, Any] = Field(default_factory=dict, description="email: backend (smtp, file, or an anymail backend's path), from_email, "
                                   "reply_to, host, port, username, security (starttls, tls, none), api_url, track_opens, track_clicks; "
                                   "webhook: url, timeout_seconds, headers; sms: account_sid, from_number or messaging_service_sid, base_url, "
                                   "timeout_seconds; table: description.")
    secret: str = Field("", max_length=4000, description="The SMTP password, provider API key or SMS auth token; a webhook's signing "
                                                       "secret is made when empty. Stored encrypted; never shown again.")
    rate_per_second: float = Field(0, ge=0, le=10_000, description="At most this many sends a second through the channel (0: no limit).")
    endpoint_rate_per_second: float = Field(0, ge=0, le=10_000, description="At most this many sends a second to each endpoint: a "
                                            "webhook's host (its templates may call several), else the channel (0: no limit).")
    feedback_signing_key: str = Field("", max_length=4000, description="The key the email provider signs its delivery events with, "
                                                                     "when its webhook is signed (Mailgun, Mandrill, Postal). Encrypted.")


class ChannelPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    config: dict[str, Any] | None = None
    secret: str | None = Field(None, max_length=4000)
    rate_per_second: float | None = Field(None, ge=0, le=10_000)
    endpoint_rate_per_second: float | None = Field(None, ge=0, le=10_000)
    enabled: bool | None = Field(None, description="true: enable a channel a 410 disabled.")
    feedback_signing_key: str | None = Field(None, max_length=4000)


class ChannelOut(Schema):
    id: int
    name: str
    kind: str
    config: dict[str, Any]
    has_secret: bool
    rotating_until: datetime | None = Field(..., description="Until when the previous signing secret is still signed with.")
    rate_per_second: float
    endpoint_rate_per_second: float
    disabled_reason: str
    created_by: str
    created_at: datetime
    secret: str = Field("", description="The new secret: only in the answer that made it.")
    feedback_url: str = Field("", description="Where the provider posts delivery events (email through a provider, SMS); "
                                              "with basic auth for email, Twilio's signature for SMS.")
    has_feedback_signing_key: bool = False
    feedback_credentials: str = Field("", description="The basic auth (user:password) the feedback URL takes: only in the answer "
                                                      "that made it (creation, rotation).")


class RotateIn(Schema):
    overlap_hours: float = Field(24, ge=0, le=24 * 30, description="How long the previous secret stays valid.")


class TemplateIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    channel_kind: Kind
    parts: dict[str, Any] = Field(..., description="Liquid per part: email subject, html, text; webhook method, url, headers, body (JSON).")


class TemplatePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    parts: dict[str, Any] | None = Field(None, description="New parts: a new version.")


class TemplateOut(Schema):
    id: int
    name: str
    channel_kind: str
    version: int
    parts: dict[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime


class TemplatePreviewIn(Schema):
    cdp_id: str = Field(..., min_length=1, max_length=64)
    variables: dict[str, Any] = Field(default_factory=dict)
    version: int | None = None


class SmsSegmentsOut(Schema):
    encoding: str = Field(..., description="GSM-7 or UCS-2 (any character outside GSM-7 makes the whole text UCS-2).")
    characters: int = Field(..., description="Septets (GSM-7, extension characters count two) or UTF-16 units.")
    segments: int = Field(..., description="Messages a carrier bills: 160/153 a part in GSM-7, 70/67 in UCS-2.")


class TemplatePreviewOut(Schema):
    template_id: int
    version: int
    parts: dict[str, Any]
    sms: SmsSegmentsOut | None = Field(None, description="An SMS template's text as it travels.")


class TopicIn(Schema):
    key: str = Field(..., min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field("", max_length=200)
    channel_kind: Kind
    policy: Literal["opt_in", "opt_out"] = "opt_in"


class TopicOut(Schema):
    id: int
    key: str
    name: str
    channel_kind: str
    policy: str


class SendIn(Schema):
    key: str = Field(..., min_length=1, max_length=300, description="The idempotency key: the same key is the same send, however often asked.")
    channel_id: int
    template_id: int
    cdp_id: str = Field(..., min_length=1, max_length=64)
    category: Literal["marketing", "transactional"] = "transactional"
    topic: str = Field("", max_length=100, description="A marketing message's subscription topic.")
    variables: dict[str, Any] = Field(default_factory=dict)


class CapIn(Schema):
    channel_kind: Literal["email", "webhook", "sms", "table", "*"]
    max: int = Field(..., ge=0, le=10_000, description="At most this many marketing messages...")
    days: float = Field(..., gt=0, le=366, description="...in this many days (rolling).")


class SendPolicyIn(Schema):
    caps: list[CapIn] = Field(default_factory=list, max_length=20)
    quiet_days: list[int] = Field(default_factory=list, description="0 Monday .. 6 Sunday; empty: no quiet hours.")
    quiet_start: str | None = Field(None, examples=["21:00"], description="Local time (the customer's `timezone` trait, else the tenant's).")
    quiet_end: str | None = Field(None, examples=["08:00"])
    quiet_policy: Literal["defer", "drop"] = "defer"
    control_percent: float = Field(0, ge=0, le=50, description="The global control group: this share of customers (stable by "
                                                               "customer) receives no marketing from journeys or campaigns.")


class SendPolicyOut(Schema):
    caps: list[dict[str, Any]]
    quiet_days: list[int]
    quiet_start: str | None
    quiet_end: str | None
    quiet_policy: str
    control_percent: float
    updated_by: str


def _policy_out(policy) -> dict:
    return {"caps": policy.caps, "quiet_days": policy.quiet_days, "quiet_start": policy.quiet_start.strftime("%H:%M") if policy.quiet_start else None,
            "quiet_end": policy.quiet_end.strftime("%H:%M") if policy.quiet_end else None, "quiet_policy": policy.quiet_policy,
            "control_percent": policy.control_percent, "updated_by": policy.updated_by}


class TestSendIn(Schema):
    channel_id: int
    template_id: int
    cdp_id: str = Field(..., min_length=1, max_length=64)
    variables: dict[str, Any] = Field(default_factory=dict)


class AttemptOut(Schema):
    number: int
    started_at: datetime
    outcome: str
    status_code: int | None
    error: str
    duration_ms: int


class DeliveryOut(Schema):
    id: int
    delivery_id: str = Field(..., description="The stable id every attempt carries (Message-ID, webhook-id).")
    idempotency_key: str
    channel_id: int
    template_id: int
    template_version: int
    cdp_id: str
    category: str
    topic: str
    source: str
    status: str
    reason: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None
    response: dict[str, Any]
    attempt_log: list[AttemptOut] = Field(default_factory=list)


class SendOut(Schema):
    created: bool = Field(..., description="false: the key had been sent already; this is that delivery.")
    delivery: DeliveryOut


class DeliveryQuery(Schema):
    cdp_id: str = ""
    status: str = ""
    channel_id: int | None = Field(None, ge=1, le=2**63 - 1, description="Only this channel's (an id the database can hold).")
    source: str = ""


# --- channels (admin: they hold credentials) ---

@channel_router.get("", response=list[ChannelOut], summary="Channels")
def channel_list(request: HttpRequest):
    return selectors.channel_list(tenant=request.auth.tenant)


@channel_router.post("", response={201: ChannelOut}, summary="Add a channel (its secret is shown once)", openapi_extra=problems(409))
def channel_create(request: HttpRequest, payload: ChannelIn):
    return Status(201, channels.channel_create(tenant=request.auth.tenant, name=payload.name, kind=payload.kind, config=payload.config,
                                               secret=payload.secret, rate_per_second=payload.rate_per_second, actor=request.auth.actor,
                                               endpoint_rate_per_second=payload.endpoint_rate_per_second,
                                               feedback_signing_key=payload.feedback_signing_key))


@channel_router.get("/{channel_id}", response=ChannelOut, openapi_extra=problems(404))
def channel_get(request: HttpRequest, channel_id: int):
    return selectors.channel_get(tenant=request.auth.tenant, channel_id=channel_id)


@channel_router.patch("/{channel_id}", response=ChannelOut, summary="Change a channel's settings or secret", openapi_extra=problems(404, 409))
def channel_update(request: HttpRequest, channel_id: int, payload: ChannelPatch):
    return channels.channel_update(tenant=request.auth.tenant, channel_id=channel_id, actor=request.auth.actor,
                                   changes=payload.model_dump(exclude_unset=True))


@channel_router.delete("/{channel_id}", response={204: None}, summary="Delete a channel that has sent nothing", openapi_extra=problems(404, 409))
def channel_delete(request: HttpRequest, channel_id: int):
    channels.channel_delete(tenant=request.auth.tenant, channel_id=channel_id, actor=request.auth.actor)
    return Status(204, None)


@channel_router.post("/{channel_id}/rotate", response=ChannelOut, summary="A new webhook signing secret (the previous one valid meanwhile), or new feedback credentials",
                     openapi_extra=problems(404))
def channel_rotate(request: HttpRequest, channel_id: int, payload: RotateIn):
    from datetime import timedelta

    return channels.channel_rotate(tenant=request.auth.tenant, channel_id=channel_id, actor=request.auth.actor,
                                   overlap=timedelta(hours=payload.overlap_hours))


# --- templates, topics, deliveries ---

@router.get("/templates", response=list[TemplateOut], summary="Templates (current versions)")
def template_list(request: HttpRequest):
    return selectors.template_list(tenant=request.auth.tenant)


@router.post("/templates", response={201: TemplateOut}, summary="Add a template (Liquid, checked with its lines)", openapi_extra=problems(409))
def template_create(request: HttpRequest, payload: TemplateIn):
    return Status(201, templates.template_create(tenant=request.auth.tenant, name=payload.name, channel_kind=payload.channel_kind,
                                                 parts=payload.parts, actor=request.auth.actor))


@router.get("/templates/{template_id}", response=TemplateOut, openapi_extra=problems(404))
def template_get(request: HttpRequest, template_id: int):
    return selectors.template_get(tenant=request.auth.tenant, template_id=template_id)


@router.patch("/templates/{template_id}", response=TemplateOut, summary="Change a template: new parts are a new version",
              openapi_extra=problems(404))
def template_update(request: HttpRequest, template_id: int, payload: TemplatePatch):
    return templates.template_update(tenant=request.auth.tenant, template_id=template_id, actor=request.auth.actor, name=payload.name,
                                     parts=payload.parts)


@router.get("/templates/{template_id}/versions", response=list[TemplateOut], summary="Every version, newest first",
            openapi_extra=problems(404))
def template_versions(request: HttpRequest, template_id: int):
    return selectors.template_versions(tenant=request.auth.tenant, template_id=template_id)


@router.post("/templates/{template_id}/preview", response=TemplatePreviewOut, summary="Render a template for a real customer, without sending",
             openapi_extra=problems(404))
def template_preview(request: HttpRequest, template_id: int, payload: TemplatePreviewIn):
    rendered = selectors.template_render(tenant=request.auth.tenant, template_id=template_id, cdp_id=payload.cdp_id,
                                         variables=payload.variables, version=payload.version)
    sms = sms_segments(rendered["parts"].get("text", "")) if rendered["channel_kind"] == "sms" else None
    return {**rendered, "sms": sms}


@router.get("/policy", response=SendPolicyOut, summary="Frequency caps and quiet hours for marketing messages")
def policy_get(request: HttpRequest):
    return _policy_out(policies.policy_get(tenant=request.auth.tenant))


@router.put("/policy", response=SendPolicyOut, summary="Set the frequency caps and quiet hours (decided at send time)")
def policy_set(request: HttpRequest, payload: SendPolicyIn):
    return _policy_out(policies.policy_set(tenant=request.auth.tenant, actor=request.auth.actor, caps=[c.model_dump() for c in payload.caps],
                                           quiet_days=payload.quiet_days, quiet_start=payload.quiet_start, quiet_end=payload.quiet_end,
                                           quiet_policy=payload.quiet_policy, control_percent=payload.control_percent))


@router.get("/topics", response=list[TopicOut], summary="Subscription topics")
def topic_list(request: HttpRequest):
    return selectors.topic_list(tenant=request.auth.tenant)


@router.post("/topics", response={201: TopicOut}, summary="Add a subscription topic", openapi_extra=problems(409))
def topic_create(request: HttpRequest, payload: TopicIn):
    return Status(201, topics.topic_create(tenant=request.auth.tenant, key=payload.key, name=payload.name,
                                           channel_kind=payload.channel_kind, policy=payload.policy, actor=request.auth.actor))


@router.delete("/topics/{topic_id}", response={204: None}, openapi_extra=problems(404))
def topic_delete(request: HttpRequest, topic_id: int):
    topics.topic_delete(tenant=request.auth.tenant, topic_id=topic_id, actor=request.auth.actor)
    return Status(204, None)


@router.post("/sends", response={200: SendOut, 202: SendOut}, summary="Queue a message once per idempotency key",
             description="202 with the new delivery; 200 with the existing one when the key was queued before. The drain sends it "
                         "within a minute (poll GET /deliveries/{id}).", openapi_extra=problems(404))
def send(request: HttpRequest, payload: SendIn):
    info, created = outbox.delivery_enqueue(tenant=request.auth.tenant, request=SendRequest(
        key=payload.key, channel_id=payload.channel_id, template_id=payload.template_id, cdp_id=payload.cdp_id, category=payload.category,
        topic=payload.topic, source=f"api:{request.auth.actor}", variables=payload.variables))
    return Status(202 if created else 200, {"created": created, "delivery": info})


@router.post("/test-send", response={202: SendOut}, summary="Send a template to a customer now (transactional, a new key each time)",
             description="202 with the delivery; its first attempt runs on a worker at once: poll GET /deliveries/{id}.",
             openapi_extra=problems(404))
def test_send(request: HttpRequest, payload: TestSendIn):
    tenant = request.auth.tenant
    delivery_id = drain.test_send(tenant=tenant, channel_id=payload.channel_id, template_id=payload.template_id, cdp_id=payload.cdp_id,
                                  actor=request.auth.actor, variables=payload.variables)
    return Status(202, {"created": True, "delivery": selectors.delivery_get(tenant=tenant, delivery_id=delivery_id)})


@router.get("/deliveries", response=PageOut[DeliveryOut], summary="Deliveries, newest first, by customer, status, channel or source")
def delivery_list(request: HttpRequest, page: Query[PageParams], query: Query[DeliveryQuery]):
    return selectors.delivery_page(tenant=request.auth.tenant, limit=page.limit, offset=page.offset, cdp_id=query.cdp_id,
                                   status=query.status, channel_id=query.channel_id, source=query.source)


@router.get("/deliveries/{delivery_id}", response=DeliveryOut, summary="One delivery with its attempts", openapi_extra=problems(404))
def delivery_get(request: HttpRequest, delivery_id: int):
    return selectors.delivery_get(tenant=request.auth.tenant, delivery_id=delivery_id)


class SuppressionIn(Schema):
    channel_kind: Literal["email", "sms"]
    address: str = Field(..., min_length=1, max_length=320)
    reason: str = Field("", max_length=300)


class SuppressionOut(Schema):
    id: int
    channel_kind: str
    address: str
    reason: str = Field(..., description="Why: a bounce or complaint the provider reported (with its words), or the operator's note.")
    cdp_id: str = Field(..., description="The customer whose message bounced ('' when added by hand or not ours).")
    delivery_id: str
    created_at: datetime


class SuppressionQuery(Schema):
    channel_kind: str = ""


@router.get("/suppressions", response=PageOut[SuppressionOut], summary="Addresses no message goes to (bounces, complaints, added by hand)")
def suppression_list(request: HttpRequest, page: Query[PageParams], query: Query[SuppressionQuery]):
    return selectors.suppressed_addresses(tenant=request.auth.tenant, limit=page.limit, offset=page.offset, kind=query.channel_kind)


@router.post("/suppressions", response={201: SuppressionOut}, summary="Suppress an address for a channel kind", openapi_extra=problems(409))
def suppression_add(request: HttpRequest, payload: SuppressionIn):
    return Status(201, feedback.suppression_add(tenant=request.auth.tenant, kind=payload.channel_kind, address=payload.address,
                                                reason=payload.reason, actor=request.auth.actor))


@router.delete("/suppressions/{suppression_id}", response={204: None}, summary="Let messages go to an address again",
               openapi_extra=problems(404))
def suppression_remove(request: HttpRequest, suppression_id: int):
    feedback.suppression_remove(tenant=request.auth.tenant, suppression_id=suppression_id, actor=request.auth.actor)
    return Status(204, None)


@customer_router.get("/{cdp_id}/messages", response=PageOut[DeliveryOut], summary="The messages sent (or not) to a customer, newest first",
                     openapi_extra=problems(404))
def customer_messages(request: HttpRequest, cdp_id: str, page: Query[PageParams]):
    customer_get(tenant=request.auth.tenant, cdp_id=cdp_id)  # 404 for an id of nobody, or of another tenant
    return selectors.delivery_page(tenant=request.auth.tenant, limit=page.limit, offset=page.offset, cdp_id=cdp_id)
