"""Reading segments: definitions, runs, current and past members, size over time, a customer's segments."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from kernel.errors import NotFound
from kernel.pagination import Page, page_of
from lakehouse import get_engine
from segments import sql
from segments.compiler import compile_audience, compile_count
from segments.models import Segment, SegmentRun
from segments.types import HistoryDay, Member, Preview, SegmentInfo
from tenancy.types import TenantRef

SAMPLE = 20


def segment_info(row: Segment) -> SegmentInfo:
    return SegmentInfo(**{f: getattr(row, f) for f in SegmentInfo.__dataclass_fields__})


def segment_row(tenant: TenantRef, segment_id: int) -> Segment:
    """The tenant's segment (the ORM row, for this app's own services), or NotFound."""
    row = Segment.objects.filter(tenant_id=tenant.id, id=segment_id).first()
    if row is None:
        raise NotFound(f"No segment {segment_id} in this tenant.")
    return row


def segment_get(*, tenant: TenantRef, segment_id: int) -> SegmentInfo:
    return segment_info(segment_row(tenant, segment_id))


def segment_list(*, tenant: TenantRef, limit: int, offset: int) -> Page[SegmentInfo]:
    rows = Segment.objects.filter(tenant_id=tenant.id).order_by("name")
    page = page_of(rows, limit=limit, offset=offset, mapper=segment_info)
    return Page(items=page.items, limit=limit, offset=offset, has_more=page.has_more, total=rows.count())


def segment_preview(*, tenant: TenantRef, definition: dict, now: datetime | None = None) -> Preview:
    """How many customers a (valid, unsaved) definition holds for now, and the first 20 of them."""
    now = now or timezone.now()
    engine = get_engine()
    count = compile_count(definition, tenant_id=tenant.slug, now=now)
    sample = compile_audience(definition, tenant_id=tenant.slug, now=now, limit=SAMPLE)
    total = engine.execute(count.statement("segments.preview_count"), count.params).first()
    return Preview(members=total["members"] if total else 0,
                   sample=[r["cdp_id"] for r in engine.execute(sample.statement("segments.preview_sample"), sample.params)])


def segment_members(*, tenant: TenantRef, segment_id: int, limit: int, offset: int, at: datetime | None = None) -> Page[Member]:
    """Current members (newest first), or those at a past time `at` from the membership log."""
    row = segment_row(tenant, segment_id)
    params = {"tenant_id": tenant.slug, "segment_id": row.id, "limit": limit + 1, "offset": offset}
    if at is None:
        rows = get_engine().execute(sql.MEMBERS_PAGE, params).dicts()
        total = row.members
    else:
        rows = get_engine().execute(sql.MEMBERS_AT, {**params, "at": at}).dicts()
        total = None
    return Page(items=[Member(**r) for r in rows[:limit]], limit=limit, offset=offset, has_more=len(rows) > limit, total=total)


def segment_history(*, tenant: TenantRef, segment_id: int, days: int = 30, now: datetime | None = None) -> list[HistoryDay]:
    """Entries, exits and the size at the end of each UTC day over the last `days` (oldest first)."""
    row = segment_row(tenant, segment_id)
    now = (now or timezone.now()).astimezone(UTC)
    first = now.date() - timedelta(days=days - 1)
    changes = Counter()
    for r in get_engine().execute(sql.HISTORY, {"tenant_id": tenant.slug, "segment_id": row.id, "since": datetime(1970, 1, 1, tzinfo=UTC)}):
        changes[(r["hour"][:10], r["change"])] += r["customers"]
    out, running = [], {}
    for (day, change), n in sorted(changes.items()):
        running[day] = running.get(day, 0) + (n if change == "entered" else -n)
    days_list = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    size = sum(v for d, v in running.items() if d < days_list[0])
    for day in days_list:
        size += running.get(day, 0)
        out.append(HistoryDay(day=day, entered=changes.get((day, "entered"), 0), exited=changes.get((day, "exited"), 0), members=size))
    return out


def segment_runs(*, tenant: TenantRef, segment_id: int, limit: int = 10) -> list[SegmentRun]:
    return list(SegmentRun.objects.filter(tenant_id=tenant.id, segment_id=segment_row(tenant, segment_id).id).order_by("-id")[:limit])


def customer_segments(*, tenant: TenantRef, cdp_id: str) -> list[dict]:
    """The segments a customer is in now, with when each was entered."""
    rows = get_engine().execute(sql.CUSTOMER_SEGMENTS, {"tenant_id": tenant.slug, "cdp_id": cdp_id}).dicts()
    names = dict(Segment.objects.filter(tenant_id=tenant.id, id__in=[r["segment_id"] for r in rows]).values_list("id", "name"))
    return [{"segment_id": r["segment_id"], "name": names.get(r["segment_id"], ""), "entered_at": r["entered_at"]} for r in rows
            if r["segment_id"] in names]


def membership_changes_since(*, tenant: TenantRef, after: tuple[datetime, str], limit: int = 10_000) -> list[dict]:
    """The membership log after a reader's watermark `(changed_at, change_id)`, oldest first: how
    journeys learn who entered and left segments."""
    return get_engine().execute(sql.CHANGES_SINCE, {"tenant_id": tenant.slug, "after_at": after[0], "after_id": after[1],
                                                    "limit": limit}).dicts()
