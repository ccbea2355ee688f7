"""Campaign writes: drafts, scheduling (with approval above a tenant's threshold), approval,
pause, resume, cancel and duplicate.

A campaign is edited while it is a draft (or awaiting approval, which sends it back to draft);
once scheduled it is fixed: duplicate it to change it. Pausing holds what it queued in
messaging's outbox and stops queueing; resuming releases both; cancelling drops both.
"""
from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.audience import UNSENT_GROUPS, audience_of
from campaigns.definition import definition_errors, parsed
from campaigns.models import Campaign, CampaignPolicy, Recipient, Run
from campaigns.selectors import campaign_info, campaign_row, reachable
from campaigns.services.schedule import first_run_at
from campaigns.types import CampaignInfo
from kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from messaging.selectors import channel_kinds, template_kinds, template_names, template_render, topic_keys
from messaging.services.outbox import deliveries_cancel, deliveries_hold, deliveries_release
from segments.selectors import segment_ids
from tenancy.services import audit_record
from tenancy.types import TenantRef


def source_of(campaign_id: int) -> str:
    """What a campaign's deliveries are queued as (messaging's `source`)."""
    return f"campaign:{campaign_id}"


def campaign_create(*, tenant: TenantRef, name: str, definition: dict, actor: str, description: str = "") -> CampaignInfo:
    name = _name(name)
    _check(tenant, definition)
    try:
        with transaction.atomic():
            row = Campaign.objects.create(tenant_id=tenant.id, name=name, description=description, definition=definition, created_by=actor)
    except IntegrityError:
        raise Conflict(f"A campaign named '{name}' already exists.") from None
    audit_record(tenant=tenant, actor=actor, action="campaign.create", target=name, details={"id": row.id})
    return campaign_info(row)


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the campaign a name.", errors=[{"field": "name", "message": "must not be empty"}])
    return name


def _check(tenant: TenantRef, definition: dict) -> None:
    """The definition's own errors, then what needs the tenant: its segments, channel, templates of
    the channel's kind and the topic."""
    errors = [{**e, "field": f"definition.{e['field']}"} for e in definition_errors(definition)]
    if not errors:
        spec = parsed(definition)
        known = segment_ids(tenant=tenant)
        errors += [{"field": f"definition.audience.{part}", "message": f"no segment {s}"}
                   for part in ("segments", "exclude") for s in getattr(spec.audience, part) if s not in known]
        kind = channel_kinds(tenant=tenant).get(spec.channel_id)
        if kind is None:
            errors.append({"field": "definition.channel_id", "message": f"no channel {spec.channel_id}"})
        templates = template_kinds(tenant=tenant)
        for i, variant in enumerate(spec.variants):
            if variant.template_id not in templates:
                errors.append({"field": f"definition.variants.{i}.template_id", "message": f"no template {variant.template_id}"})
            elif kind and templates[variant.template_id] != kind:
                errors.append({"field": f"definition.variants.{i}.template_id", "message": f"a {kind} template"})
        if kind and spec.category == "marketing" and (kind, spec.topic) not in topic_keys(tenant=tenant):
            errors.append({"field": "definition.topic", "message": f"a {kind} subscription topic of this tenant"})
    if errors:
        raise InvalidInput("The campaign is not valid: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3]) + ".",
                           errors=errors)


def campaign_update(*, tenant: TenantRef, campaign_id: int, actor: str, changes: dict) -> CampaignInfo:
    row = campaign_row(tenant, campaign_id)
    if row.status not in Campaign.EDITABLE:
        raise Conflict(f"{row.name} is {row.get_status_display()}; only drafts change. Duplicate it to send a changed copy.")
    if "definition" in changes and changes["definition"] is not None:
        _check(tenant, changes["definition"])
        row.definition = changes["definition"]
    if changes.get("name") is not None:
        row.name = _name(changes["name"])
    if changes.get("description") is not None:
        row.description = changes["description"]
    # An edit needs approving again: what was approved is not what would be sent.
    row.status, row.status_reason, row.approval_requested_by = "draft", "", ""
    row.approved_by, row.approved_at, row.reachable_at_approval = "", None, None
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise Conflict(f"A campaign named '{row.name}' already exists.") from None
    audit_record(tenant=tenant, actor=actor, action="campaign.update", target=row.name, details={"id": row.id})
    return campaign_info(row)


def campaign_duplicate(*, tenant: TenantRef, campaign_id: int, actor: str, name: str = "") -> CampaignInfo:
    source = campaign_row(tenant, campaign_id)
    name = name.strip() or _copy_name(tenant, source.name)
    return campaign_create(tenant=tenant, name=name, definition=source.definition, actor=actor, description=source.description)


def _copy_name(tenant: TenantRef, name: str) -> str:
    taken = set(Campaign.objects.filter(tenant_id=tenant.id, name__startswith=name).values_list("name", flat=True))
    for n in range(1, 1000):
        candidate = f"{name} (copy{'' if n == 1 else f' {n}'})"[:200]
        if candidate not in taken:
            return candidate
    raise Conflict("Give the copy a name.")


def approval_needed(tenant: TenantRef, row: Campaign, now: datetime) -> str:
    """Why a campaign needs a second admin's approval, or "": it reaches more customers than the
    tenant's threshold, or every customer."""
    threshold = policy_get(tenant=tenant).approval_threshold
    counts = reachable(tenant=tenant, definition=row.definition, campaign_id=row.id, now=now)
    if counts["reachable"] > threshold:
        return f"it reaches {counts['reachable']:,} customers, more than the {threshold:,} that need no approval"
    if counts["everyone"]:
        return "its audience is every customer"
    return ""


def campaign_schedule(*, tenant: TenantRef, campaign_id: int, actor: str, now: datetime | None = None) -> CampaignInfo:
    """Schedule a draft: checked again, then scheduled, or awaiting a second admin's approval."""
    now = now or timezone.now()
    row = campaign_row(tenant, campaign_id)
    if row.status not in Campaign.EDITABLE:
        raise Conflict(f"{row.name} is {row.get_status_display()} already.")
    _check(tenant, row.definition)
    start = first_run_at(tenant, parsed(row.definition), now)
    if start is None:
        raise InvalidInput("The schedule has no moment left to send at.", errors=[{"field": "definition.schedule", "message": "in the past"}])
    why = approval_needed(tenant, row, now)
    if why and not (row.approved_by and row.approved_at):
        row.status, row.status_reason, row.approval_requested_by = "awaiting_approval", f"Needs a second admin's approval: {why}.", actor
        row.save(update_fields=["status", "status_reason", "approval_requested_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="campaign.approval_requested", target=row.name, details={"id": row.id, "why": why})
        return campaign_info(row)
    row.status, row.status_reason, row.next_run_at = "scheduled", "", start
    row.save(update_fields=["status", "status_reason", "next_run_at", "updated_at"])
    audit_record(tenant=tenant, actor=actor, action="campaign.schedule", target=row.name, details={"id": row.id, "at": start.isoformat()})
    return campaign_info(row)


def campaign_approve(*, tenant: TenantRef, campaign_id: int, actor: str, now: datetime | None = None) -> CampaignInfo:
    """A second admin approves: not the one who asked. The campaign is then scheduled."""
    now = now or timezone.now()
    row = campaign_row(tenant, campaign_id)
    if row.status != "awaiting_approval":
        raise Conflict(f"{row.name} is not awaiting approval (it is {row.get_status_display()}).")
    if actor in (row.approval_requested_by, row.created_by):
        raise PermissionDenied("A campaign is approved by a second admin, not by whoever wrote or scheduled it.")
    counts = reachable(tenant=tenant, definition=row.definition, campaign_id=row.id, now=now)
    row.approved_by, row.approved_at, row.reachable_at_approval = actor, now, counts["reachable"]
    row.save(update_fields=["approved_by", "approved_at", "reachable_at_approval", "updated_at"])
    audit_record(tenant=tenant, actor=actor, action="campaign.approve", target=row.name,
                 details={"id": row.id, "reachable": counts["reachable"]})
    return campaign_schedule(tenant=tenant, campaign_id=row.id, actor=row.approval_requested_by or actor, now=now)


def campaign_pause(*, tenant: TenantRef, campaign_id: int, actor: str, reason: str = "") -> CampaignInfo:
    """Stop queueing and hold what is queued and unsent; a message already being sent finishes."""
    with transaction.atomic():
        row = Campaign.objects.select_for_update().get(id=campaign_row(tenant, campaign_id).id)
        if row.status not in ("scheduled", "running"):
            raise Conflict(f"{row.name} is {row.get_status_display()}; only a scheduled or running campaign pauses.")
        row.status, row.status_reason = "paused", reason or f"Paused by {actor}."
        row.save(update_fields=["status", "status_reason", "updated_at"])
        held = deliveries_hold(tenant=tenant, source=source_of(row.id))
    audit_record(tenant=tenant, actor=actor, action="campaign.pause", target=row.name, details={"id": row.id, "held": held})
    return campaign_info(row)


def campaign_resume(*, tenant: TenantRef, campaign_id: int, actor: str) -> CampaignInfo:
    with transaction.atomic():
        row = Campaign.objects.select_for_update().get(id=campaign_row(tenant, campaign_id).id)
        if row.status != "paused":
            raise Conflict(f"{row.name} is {row.get_status_display()}, not paused.")
        running = Run.objects.filter(campaign=row, phase__in=("sending", "testing")).exists()
        row.status, row.status_reason = ("running" if running else "scheduled"), ""
        row.save(update_fields=["status", "status_reason", "updated_at"])
        released = deliveries_release(tenant=tenant, source=source_of(row.id))
    audit_record(tenant=tenant, actor=actor, action="campaign.resume", target=row.name, details={"id": row.id, "released": released})
    return campaign_info(row)


def campaign_cancel(*, tenant: TenantRef, campaign_id: int, actor: str) -> CampaignInfo:
    """Cancelled for good: what is unsent is dropped (reported as cancelled); what was sent stays."""
    with transaction.atomic():
        row = Campaign.objects.select_for_update().get(id=campaign_row(tenant, campaign_id).id)
        if row.status in ("completed", "cancelled"):
            raise Conflict(f"{row.name} is {row.get_status_display()} already.")
        row.status, row.status_reason, row.next_run_at = "cancelled", f"Cancelled by {actor}.", None
        row.save(update_fields=["status", "status_reason", "next_run_at", "updated_at"])
        dropped = deliveries_cancel(tenant=tenant, source=source_of(row.id), reason=f"the campaign was cancelled by {actor}")
        runs = Run.objects.filter(campaign=row, phase__in=("sending", "testing"))
        Recipient.objects.filter(run__in=runs, status__in=("pending", "waiting")).update(status="cancelled")
        runs.update(phase="cancelled", completed_at=timezone.now())
    audit_record(tenant=tenant, actor=actor, action="campaign.cancel", target=row.name, details={"id": row.id, "dropped": dropped})
    return campaign_info(row)


def campaign_preview(*, tenant: TenantRef, definition: dict, campaign_id: int = 0, now: datetime | None = None, cdp_id: str = "") -> dict:
    """The reachable count of a (valid) definition and a few of its messages rendered for real
    customers of the audience, per variant; nothing is saved or sent. `cdp_id`: render every
    variant for that customer (whoever they are: the editor's "preview for"), saying which group
    the send would put them in."""
    _check(tenant, definition)
    now = now or timezone.now()
    spec = parsed(definition)
    audience = audience_of(tenant=tenant, spec=spec, campaign_id=campaign_id, now=now, consent=True)
    chosen = [m for m in audience.members if m.cdp_id == cdp_id] if cdp_id else []
    reached = [m for m in audience.members if m.group not in UNSENT_GROUPS][:SAMPLES]
    names = template_names(tenant=tenant, template_ids={v.template_id for v in spec.variants})
    templates = [{"variant": v.key, "template_id": v.template_id, "name": names.get(v.template_id, "")} for v in spec.variants]
    for_customer = {}
    if cdp_id:
        for_customer = {"cdp_id": cdp_id, "in_audience": bool(chosen), "group": chosen[0].group if chosen else None,  # None: outside it
                        "samples": [_sample(tenant, campaign_id, v.key, v.template_id, cdp_id, chosen[0].address if chosen else "")
                                    for v in spec.variants]}
    samples = [_sample(tenant, campaign_id, v.key, v.template_id, m.cdp_id, m.address) for v in spec.variants for m in reached]
    return {"reach": audience.counts(), "samples": samples, "templates": templates, "for_customer": for_customer}


def _sample(tenant: TenantRef, campaign_id: int, variant: str, template_id: int, cdp_id: str, address: str) -> dict:
    """One variant's message rendered for one customer (or why it does not render)."""
    variables = {"campaign": {"id": campaign_id, "name": "preview", "run": 0}, "variant": variant, "seed": False}
    sample = {"variant": variant, "cdp_id": cdp_id, "address": address}
    try:
        return {**sample, "parts": template_render(tenant=tenant, template_id=template_id, cdp_id=cdp_id, variables=variables)["parts"]}
    except (InvalidInput, NotFound) as exc:
        return {**sample, "error": exc.detail}


SAMPLES = 3


def policy_get(*, tenant: TenantRef) -> CampaignPolicy:
    return CampaignPolicy.objects.filter(tenant_id=tenant.id).first() or CampaignPolicy(tenant_id=tenant.id)


def policy_set(*, tenant: TenantRef, actor: str, approval_threshold: int) -> CampaignPolicy:
    if approval_threshold < 0:
        raise InvalidInput("The approval threshold is 0 or more customers.", errors=[{"field": "approval_threshold", "message": ">= 0"}])
    policy, _ = CampaignPolicy.objects.update_or_create(tenant_id=tenant.id, defaults={"approval_threshold": approval_threshold,
                                                                                       "updated_by": actor})
    audit_record(tenant=tenant, actor=actor, action="campaign.policy", target="campaign policy",
                 details={"approval_threshold": approval_threshold})
    return policy

