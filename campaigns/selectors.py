"""Campaigns' reads: campaigns, their runs and recipients, and an audience's reachable count."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Count

from campaigns.audience import audience_of
from campaigns.definition import parsed
from campaigns.models import Campaign, Recipient, Run
from campaigns.types import CampaignInfo, RecipientInfo, RunInfo
from kernel.errors import NotFound
from kernel.pagination import Page
from tenancy.types import TenantRef


def campaign_row(tenant: TenantRef, campaign_id: int) -> Campaign:
    row = Campaign.objects.filter(tenant_id=tenant.id, id=campaign_id).first()
    if row is None:
        raise NotFound(f"No campaign {campaign_id} in this tenant.")
    return row


def delivery_key(campaign_id: int, run_number: int, recipient_id: int) -> str:
    """The idempotency key of a recipient's send: stable, so a resumed or restarted send queues
    nothing twice (messaging keeps one delivery per key)."""
    return f"{delivery_key_prefix(campaign_id, run_number)}{recipient_id}"


def delivery_key_prefix(campaign_id: int, run_number: int) -> str:
    """The keys' text before the recipient's id (the sending query appends the id in SQL)."""
    return f"campaign:{campaign_id}:run:{run_number}:r"


def run_info(run: Run, counts: dict[str, int] | None = None) -> RunInfo:
    if counts is None:
        counts = dict(run.recipients.values_list("status").annotate(n=Count("id")).order_by())
    counts = {status: counts.get(status, 0) for status, _ in Recipient.STATUSES}
    return RunInfo(number=run.number, phase=run.phase, scheduled_for=run.scheduled_for, started_at=run.started_at,
                   test_ends_at=run.test_ends_at, winner=run.winner, decision=run.decision, completed_at=run.completed_at, counts=counts)


def campaign_info(row: Campaign, *, runs: bool = False) -> CampaignInfo:
    return CampaignInfo(id=row.id, name=row.name, description=row.description, status=row.status, status_reason=row.status_reason,
                        definition=row.definition, next_run_at=row.next_run_at, approval_requested_by=row.approval_requested_by,
                        approved_by=row.approved_by, approved_at=row.approved_at, created_by=row.created_by, created_at=row.created_at,
                        updated_at=row.updated_at, runs=[run_info(r) for r in row.runs.all()[:20]] if runs else [])


def campaign_get(*, tenant: TenantRef, campaign_id: int) -> CampaignInfo:
    return campaign_info(campaign_row(tenant, campaign_id), runs=True)


def campaign_list(*, tenant: TenantRef, limit: int, offset: int, status: str = "", q: str = "") -> Page[CampaignInfo]:
    rows = Campaign.objects.filter(tenant_id=tenant.id)
    if status:
        rows = rows.filter(status=status)
    if q:
        rows = rows.filter(name__icontains=q)
    total = rows.count()
    items = [campaign_info(r) for r in rows.order_by("-id")[offset:offset + limit]]
    return Page(items=items, limit=limit, offset=offset, has_more=offset + len(items) < total, total=total)


def approval_requests(*, tenant: TenantRef) -> list[CampaignInfo]:
    return [campaign_info(r) for r in Campaign.objects.filter(tenant_id=tenant.id, status="awaiting_approval").order_by("updated_at")]


def reachable(*, tenant: TenantRef, definition: dict, campaign_id: int, now: datetime) -> dict:
    """How many the audience holds and how many a send would reach now: after the cap, the global
    control group, the holdout, addresses (one message an address) and consent for the topic. An
    estimate: consent, caps and quiet hours are decided again at send time."""
    audience = audience_of(tenant=tenant, spec=parsed(definition), campaign_id=campaign_id, now=now, consent=True)
    return audience.counts()


def recipient_page(*, tenant: TenantRef, campaign_id: int, limit: int, offset: int, run: int | None = None, group: str = "",
                   status: str = "") -> Page[RecipientInfo]:
    row = campaign_row(tenant, campaign_id)
    rows = Recipient.objects.filter(run__campaign=row).select_related("run")
    if run is not None:
        rows = rows.filter(run__number=run)
    if group:
        rows = rows.filter(group=group)
    if status:
        rows = rows.filter(status=status)
    total = rows.count()
    items = [RecipientInfo(run=r.run.number, cdp_id=r.cdp_id, address=r.address, group=r.group, seed=r.seed, test=r.test, send_at=r.send_at,
                           status=r.status, queued_at=r.queued_at, delivery_key=delivery_key(row.id, r.run.number, r.id))
             for r in rows.order_by("run__number", "id")[offset:offset + limit]]
    return Page(items=items, limit=limit, offset=offset, has_more=offset + len(items) < total, total=total)

