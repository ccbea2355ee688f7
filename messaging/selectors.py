"""Messaging's reads."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count

from customers.selectors import customer_get, traits_of_customers
from identity.selectors import identifiers_of_type
from kernel.errors import InvalidInput, NotFound
from kernel.pagination import Page
from messaging.channels import backend_for
from messaging.context import message_context, render_parts
from messaging.liquid import RenderError
from messaging.models import Channel, Delivery, SendPolicy, SuppressedAddress, Template, TemplateVersion, Topic
from messaging.policy import in_control_group, quiet_until
from messaging.types import ChannelInfo, DeliveryInfo, SuppressedAddressInfo, TemplateInfo
from tenancy.types import TenantRef


def channel_row(tenant: TenantRef, channel_id: int) -> Channel:
    row = Channel.objects.filter(tenant_id=tenant.id, id=channel_id).first()
    if row is None:
        raise NotFound(f"No channel {channel_id} in this tenant.")
    return row


def feedback_url(row: Channel) -> str:
    """Where a provider posts this channel's delivery events ('' for channels without a provider)."""
    if row.kind == "sms" or (row.kind == "email" and str(row.config.get("backend", "")).startswith("anymail.")):
        return f"{settings.CDP_PUBLIC_URL.rstrip('/')}/m/feedback/{row.id}/"
    return ""


def channel_by_id(channel_id: int) -> Channel | None:
    """Any tenant's channel: for the public feedback endpoints, which then check its credentials."""
    return Channel.objects.filter(id=channel_id).first()


def channel_info(row: Channel, *, secret: str = "", feedback_credentials: str = "") -> ChannelInfo:
    return ChannelInfo(id=row.id, name=row.name, kind=row.kind, config=row.config, has_secret=bool(row.secret),
                       rotating_until=row.previous_valid_until if row.previous_secret else None, rate_per_second=row.rate_per_second,
                       disabled_reason=row.disabled_reason, created_by=row.created_by, created_at=row.created_at, secret=secret,
                       feedback_url=feedback_url(row), feedback_credentials=feedback_credentials,
                       has_feedback_signing_key=bool(row.feedback_signing_key), endpoint_rate_per_second=row.endpoint_rate_per_second)


def channel_list(*, tenant: TenantRef) -> list[ChannelInfo]:
    return [channel_info(r) for r in Channel.objects.filter(tenant_id=tenant.id)]


def channel_get(*, tenant: TenantRef, channel_id: int) -> ChannelInfo:
    return channel_info(channel_row(tenant, channel_id))


def template_row(tenant: TenantRef, template_id: int) -> Template:
    row = Template.objects.filter(tenant_id=tenant.id, id=template_id).first()
    if row is None:
        raise NotFound(f"No template {template_id} in this tenant.")
    return row


def template_info(row: Template, version: TemplateVersion | None = None) -> TemplateInfo:
    version = version or row.versions.get(version=row.version)
    return TemplateInfo(id=row.id, name=row.name, channel_kind=row.channel_kind, version=version.version, parts=version.parts,
                        created_by=row.created_by, created_at=row.created_at, updated_at=row.updated_at)


def template_list(*, tenant: TenantRef) -> list[TemplateInfo]:
    rows = list(Template.objects.filter(tenant_id=tenant.id))
    current = {(v.template_id, v.version): v for v in TemplateVersion.objects.filter(template__in=rows)}
    return [template_info(r, current[(r.id, r.version)]) for r in rows]


def template_names(*, tenant: TenantRef, template_ids) -> dict[int, str]:
    """`{id: name}` of those of these templates the tenant has."""
    return dict(Template.objects.filter(tenant_id=tenant.id, id__in=list(template_ids)).values_list("id", "name"))


def template_get(*, tenant: TenantRef, template_id: int, version: int | None = None) -> TemplateInfo:
    row = template_row(tenant, template_id)
    found = row.versions.filter(version=version or row.version).first()
    if found is None:
        raise NotFound(f"Template {row.name} has no version {version}.")
    return template_info(row, found)


def template_versions(*, tenant: TenantRef, template_id: int) -> list[TemplateInfo]:
    row = template_row(tenant, template_id)
    return [template_info(row, v) for v in row.versions.order_by("-version")]


def topic_list(*, tenant: TenantRef) -> list[Topic]:
    return list(Topic.objects.filter(tenant_id=tenant.id))


def delivery_info(row: Delivery, *, attempts: bool = False) -> DeliveryInfo:
    log = [{"number": a.number, "started_at": a.started_at, "outcome": a.outcome, "status_code": a.status_code, "error": a.error,
            "duration_ms": a.duration_ms} for a in row.attempt_log.all()] if attempts else []
    return DeliveryInfo(id=row.id, delivery_id=row.delivery_id, idempotency_key=row.idempotency_key, channel_id=row.channel_id,
                        template_id=row.template_version.template_id, template_version=row.template_version.version, cdp_id=row.cdp_id,
                        category=row.category, topic=row.topic, source=row.source, status=row.status, reason=row.reason,
                        attempts=row.attempts, next_attempt_at=row.next_attempt_at, created_at=row.created_at, sent_at=row.sent_at,
                        response=row.response, attempt_log=log)


def delivery_page(*, tenant: TenantRef, limit: int, offset: int, cdp_id: str = "", status: str = "", channel_id: int | None = None,
                  source: str = "") -> Page[DeliveryInfo]:
    rows = Delivery.objects.filter(tenant_id=tenant.id).select_related("template_version")
    if cdp_id:
        rows = rows.filter(cdp_id=cdp_id)
    if status:
        rows = rows.filter(status=status)
    if channel_id:
        rows = rows.filter(channel_id=channel_id)
    if source:
        rows = rows.filter(source=source)
    total = rows.count()
    items = [delivery_info(r) for r in rows.order_by("-id")[offset:offset + limit]]
    return Page(items=items, limit=limit, offset=offset, has_more=offset + len(items) < total, total=total)


def delivery_get(*, tenant: TenantRef, delivery_id: int) -> DeliveryInfo:
    row = Delivery.objects.filter(tenant_id=tenant.id, id=delivery_id).select_related("template_version").first()
    if row is None:
        raise NotFound(f"No delivery {delivery_id} in this tenant.")
    return delivery_info(row, attempts=True)


def normalised_address(kind: str, address: str) -> str:
    address = (address or "").strip()
    return address.lower() if kind == "email" else address


def address_suppression(*, tenant_id: int, kind: str, address: str) -> str:
    """Why an address is suppressed for a channel kind, or ''."""
    found = SuppressedAddress.objects.filter(tenant_id=tenant_id, channel_kind=kind,
                                             address=normalised_address(kind, address)).values_list("reason", flat=True).first()
    return found or ""


def suppression_info(row: SuppressedAddress) -> SuppressedAddressInfo:
    return SuppressedAddressInfo(id=row.id, channel_kind=row.channel_kind, address=row.address, reason=row.reason, cdp_id=row.cdp_id,
                                 delivery_id=row.delivery_id, created_at=row.created_at)


def suppressed_addresses(*, tenant: TenantRef, limit: int, offset: int, kind: str = "") -> Page[SuppressedAddressInfo]:
    rows = SuppressedAddress.objects.filter(tenant_id=tenant.id)
    if kind:
        rows = rows.filter(channel_kind=kind)
    total = rows.count()
    items = [suppression_info(r) for r in rows.order_by("-created_at", "-id")[offset:offset + limit]]
    return Page(items=items, limit=limit, offset=offset, has_more=offset + len(items) < total, total=total)


def suppressions_of(*, tenant: TenantRef, identities: list[tuple[str, str]]) -> list[SuppressedAddressInfo]:
    """The suppressed addresses among a customer's identifiers (email for email, phone for sms)."""
    kinds = {"email": "email", "phone": "sms"}
    wanted = {(kinds[t], normalised_address(kinds[t], v)) for t, v in identities if t in kinds}
    if not wanted:
        return []
    rows = SuppressedAddress.objects.filter(tenant_id=tenant.id, address__in={a for _, a in wanted})
    return [suppression_info(r) for r in rows if (r.channel_kind, r.address) in wanted]


def channel_kinds(*, tenant: TenantRef) -> dict[int, str]:
    """Each channel's kind by id (journeys check their send nodes against them)."""
    return dict(Channel.objects.filter(tenant_id=tenant.id).values_list("id", "kind"))


def template_kinds(*, tenant: TenantRef) -> dict[int, str]:
    return dict(Template.objects.filter(tenant_id=tenant.id).values_list("id", "channel_kind"))


def topic_keys(*, tenant: TenantRef) -> set[tuple[str, str]]:
    """(channel kind, topic key) of each subscription topic."""
    return set(Topic.objects.filter(tenant_id=tenant.id).values_list("channel_kind", "key"))


def deliveries_by_key(*, tenant: TenantRef, keys) -> dict[str, DeliveryInfo]:
    """The deliveries queued under these idempotency keys (a journey's sends of a tick)."""
    out = {}
    keys = list(keys)
    for start in range(0, len(keys), 500):
        for row in Delivery.objects.filter(tenant_id=tenant.id, idempotency_key__in=keys[start:start + 500]).select_related("template_version"):
            out[row.idempotency_key] = delivery_info(row)
    return out


def template_render(*, tenant: TenantRef, template_id: int, cdp_id: str, variables: dict, version: int | None = None) -> dict:
    """A template rendered for a real customer without sending: `{template_id, version, parts}`
    (the API's preview, a journey's test on one customer). Raises InvalidInput naming the part and
    line when it does not render."""
    template = template_get(tenant=tenant, template_id=template_id, version=version)
    profile = customer_get(tenant=tenant, cdp_id=cdp_id)
    try:
        parts = render_parts(template.channel_kind, template.parts, message_context(profile, variables))
    except RenderError as exc:
        raise InvalidInput(f"The template does not render: {exc}.",
                           errors=[{"field": f"parts.{exc.part}", "message": f"line {exc.line}: {exc.message}"}]) from None
    return {"template_id": template.id, "version": template.version, "channel_kind": template.channel_kind, "parts": parts}


def addresses_of(*, tenant: TenantRef, kind: str, cdp_ids) -> dict[str, str]:
    """The address a channel kind sends each of these customers to, for many at once, by the rule
    of `messaging.context.recipient` (the first identifier of the kind's address type, else the
    trait of that name), normalised; customers without one are left out. Empty for kinds that
    address no one (webhook, table)."""
    address_type = backend_for(kind).features.address_type
    if address_type is None:
        return {}
    cdp_ids = sorted(set(cdp_ids))
    out = {c: values[0] for c, values in identifiers_of_type(tenant=tenant, id_type=address_type, cdp_ids=cdp_ids).items()}  # by value, as a profile's
    missing = [c for c in cdp_ids if c not in out]
    for cdp_id, traits in traits_of_customers(tenant=tenant, cdp_ids=missing, keys=[address_type]).items():
        value = traits.get(address_type, (None, None))[0]
        if isinstance(value, str) and value.strip():
            out[cdp_id] = value
    return {c: normalised_address(kind, a) for c, a in out.items()}


def control_group(*, tenant: TenantRef, cdp_ids) -> set[str]:
    """Which of these customers are in the tenant's global control group (no marketing at all)."""
    policy = SendPolicy.objects.filter(tenant_id=tenant.id).first()
    percent = policy.control_percent if policy else 0
    return {c for c in cdp_ids if in_control_group(tenant, c, percent)} if percent else set()


def quiet_hours_hold(*, tenant: TenantRef) -> bool:
    """Whether the tenant's quiet hours hold marketing until they end (a sender may then pace
    around them: `quiet_zones`); False without quiet hours, or when they drop instead."""
    policy = SendPolicy.objects.filter(tenant_id=tenant.id).first()
    return bool(policy and policy.quiet_days and policy.quiet_start is not None and policy.quiet_end is not None
                and policy.quiet_policy != "drop")


def quiet_zones(*, tenant: TenantRef, zones, now: datetime) -> set[str]:
    """Which of these time zones (IANA keys) are inside the tenant's quiet hours at `now`, by the
    drain's own rule (`messaging.policy.quiet_until`); none when `quiet_hours_hold` is False."""
    if not quiet_hours_hold(tenant=tenant):
        return set()
    policy = SendPolicy.objects.get(tenant_id=tenant.id)
    return {key for key in zones if quiet_until(policy, now.astimezone(ZoneInfo(key))) is not None}


def delivery_outcomes(*, tenant: TenantRef, source: str) -> dict[str, tuple[str, str, object]]:
    """`{idempotency key: (status, reason, sent_at)}` of everything one sender queued (a campaign's report)."""
    return {key: (status, reason, sent_at) for key, status, reason, sent_at in
            Delivery.objects.filter(tenant_id=tenant.id, source=source).values_list("idempotency_key", "status", "reason", "sent_at")
            .iterator(chunk_size=5000)}


def recent_outcomes(*, tenant: TenantRef, source: str, limit: int) -> list[str]:
    """The statuses of a sender's last `limit` finished deliveries, newest first (an error policy's
    "failures in a row")."""
    return list(Delivery.objects.filter(tenant_id=tenant.id, source=source, status__in=("sent", "delivered", "opened", "clicked", "bounced",
                                                                                         "complained", "failed"))
                .order_by("-updated_at", "-id").values_list("status", flat=True)[:limit])


def topic_policy(*, tenant: TenantRef, kind: str, topic: str) -> str:
    """opt_in or opt_out for a topic of a channel kind ('' when there is no such topic)."""
    return Topic.objects.filter(tenant_id=tenant.id, channel_kind=kind, key=topic).values_list("policy", flat=True).first() or ""


def outcome_counts(*, tenant: TenantRef, source: str) -> dict[str, int]:
    """A sender's deliveries by status (an error policy's failure rate)."""
    return dict(Delivery.objects.filter(tenant_id=tenant.id, source=source).values_list("status").annotate(n=Count("id")).order_by())
