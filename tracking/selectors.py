"""Reading the inbox: what waits to be loaded, and what was set aside after failing to load."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, QuerySet, Sum

from tracking.models import InboxBatch


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
