"""Reading the inbox: what waits to be loaded, and what was set aside after failing to load."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, QuerySet, Sum

from customers.selectors import loaded_message_ids
from tenancy.types import TenantRef
from tracking.models import InboxBatch, RecentCall, RejectedDay


@dataclass(frozen=True)
class SetAsideBatch:
    id: int
    received_at: datetime
    calls: int
    failed_at: datetime
    error: str


@dataclass(frozen=True)
class InboxStatus:
    pending_calls: int
    set_aside_batches: int
    set_aside_calls: int
    set_aside: list[SetAsideBatch]  # the oldest, up to the limit asked for


def pending_count(tenant_id: int | None = None) -> int:
    """Calls accepted and not loaded yet (set-aside batches excluded)."""
    batches = InboxBatch.objects.filter(loaded_at__isnull=True, failed_at__isnull=True)
    if tenant_id is not None:
        batches = batches.filter(tenant_id=tenant_id)
    return batches.aggregate(n=Sum("calls"))["n"] or 0


def set_aside_batches(tenant_id: int | None = None) -> QuerySet[InboxBatch]:
    """Batches waiting for an operator, oldest first."""
    batches = InboxBatch.objects.filter(loaded_at__isnull=True, failed_at__isnull=False).order_by("id")
    return batches.filter(tenant_id=tenant_id) if tenant_id is not None else batches


def inbox_status(*, tenant_id: int, limit: int = 50) -> InboxStatus:
    waiting = set_aside_batches(tenant_id)
    totals = waiting.aggregate(batches=Count("id"), calls=Sum("calls"))
    listed = [SetAsideBatch(id=b.id, received_at=b.received_at, calls=b.calls, failed_at=b.failed_at, error=b.error)
              for b in waiting.only("id", "received_at", "calls", "failed_at", "error")[:limit]]
    return InboxStatus(pending_calls=pending_count(tenant_id), set_aside_batches=totals["batches"],
                       set_aside_calls=totals["calls"] or 0, set_aside=listed)


@dataclass(frozen=True)
class IngestionStatus:
    """Whether data is arriving: the last request received and loaded, what waits or was refused."""

    last_received_at: datetime | None
    last_loaded_at: datetime | None
    pending_calls: int
    set_aside_calls: int
    rejected_calls: int  # refused as invalid since the day asked for


def ingestion_status(*, tenant_id: int, rejected_since: date) -> IngestionStatus:
    batches = InboxBatch.objects.filter(tenant_id=tenant_id).order_by("-id")
    # The newest rows by primary key (batches are stamped in arrival order): no scan of the history.
    last_received = batches.values_list("received_at", flat=True).first()
    last_loaded = batches.filter(loaded_at__isnull=False).values_list("loaded_at", flat=True).first()
    set_aside = set_aside_batches(tenant_id).aggregate(calls=Sum("calls"))["calls"] or 0
    rejected = RejectedDay.objects.filter(tenant_id=tenant_id, day__gte=rejected_since).aggregate(n=Sum("calls"))["n"] or 0
    return IngestionStatus(last_received_at=last_received, last_loaded_at=last_loaded, pending_calls=pending_count(tenant_id),
                           set_aside_calls=set_aside, rejected_calls=rejected)


@dataclass(frozen=True)
class LiveCall:
    received_at: datetime
    source: str
    message_id: str
    type: str
    event: str
    status: str  # accepted (waiting to load), loaded, duplicate, rejected, suppressed
    reason: str
    payload: str


def live_calls(*, tenant: TenantRef, type: str = "", source: str = "", limit: int = 100) -> list[LiveCall]:
    """The calls recorded while the live event view was open, newest first, with accepted calls
    marked loaded once the lakehouse has them."""
    rows = RecentCall.objects.filter(tenant_id=tenant.id).order_by("-id")
    if type:
        rows = rows.filter(type=type)
    if source:
        rows = rows.filter(source=source)
    rows = list(rows[:limit])
    waiting = [r.message_id for r in rows if r.status == "accepted"]
    loaded = loaded_message_ids(tenant=tenant, message_ids=waiting)
    set_aside = {message_id: batch.error for batch in set_aside_batches(tenant.id) if waiting
                 for message_id in json.loads(batch.accepted).values()}

    def status(row: RecentCall) -> tuple[str, str]:
        if row.status != "accepted":
            return row.status, row.reason
        if row.message_id in loaded:
            return "loaded", ""
        if row.message_id in set_aside:
            return "set aside", f"the loader could not store its batch: {set_aside[row.message_id][:300]}"
        return "accepted", ""

    return [LiveCall(received_at=r.received_at, source=r.source, message_id=r.message_id, type=r.type, event=r.event,
                     status=status(r)[0], reason=status(r)[1], payload=r.payload) for r in rows]


def live_sources(*, tenant: TenantRef) -> list[str]:
    """Who sent the recorded calls (write keys' public labels), for the view's filter."""
    return sorted(set(RecentCall.objects.filter(tenant_id=tenant.id).values_list("source", flat=True)))
