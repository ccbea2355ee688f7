"""Reading segments: definitions, runs, current and past members, size over time, a customer's segments."""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from identity.selectors import identities_of_customers, live_customers
from kernel.csvcells import csv_cell, line_writer
from kernel.errors import NotFound
from kernel.pagination import Page, page_of
from kernel.times import api_time
from lakehouse import get_engine
from lakehouse.functions import bucket
from segments import sql
from segments.compiler import (
    compile_audience,
    compile_count,
    compile_facts,
    compile_holds_for,
    compile_leaves,
    compile_matching_calls,
    leaves,
)
from segments.models import Segment, SegmentExport, SegmentRun
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


EXPORT_PAGE = 1000


def _member_pages(tenant: TenantRef, segment_id: int) -> Iterator[list[dict]]:
    """The current members (cdp_id, entered_at) a thousand at a time, by cdp_id after the last one
    (no OFFSET to rescan however large the segment)."""
    row, engine, after = segment_row(tenant, segment_id), get_engine(), ""
    while True:
        page = engine.execute(sql.MEMBERS_AFTER, {"tenant_id": tenant.slug, "segment_id": row.id, "after": after,
                                                  "limit": EXPORT_PAGE}).dicts()
        if not page:
            return
        yield page
        after = page[-1]["cdp_id"]


def segment_members_all(*, tenant: TenantRef, segment_id: int, at: datetime | None = None) -> Iterator[str]:
    """Every current member's cdp_id, in order (exports, checks), or every member at a past time
    `at` from the membership log (a backtest's scheduled entries)."""
    if at is None:
        for page in _member_pages(tenant, segment_id):
            yield from (m["cdp_id"] for m in page)
        return
    offset = 0
    while True:
        page = segment_members(tenant=tenant, segment_id=segment_id, limit=EXPORT_PAGE, offset=offset, at=at)
        yield from (m.cdp_id for m in page.items)
        if not page.has_more:
            return
        offset += EXPORT_PAGE


def segment_members_csv(*, tenant: TenantRef, segment_id: int) -> Iterator[str]:
    """The current members as CSV lines (cdp_id, entered_at, user_id, email), streamed a page at a
    time. NotFound is raised here, before the first line, for a segment of nobody."""
    segment_row(tenant, segment_id)
    writer, engine = line_writer(), get_engine()

    def lines():
        yield writer.writerow(["cdp_id", "entered_at", "user_id", "email"])
        for page in _member_pages(tenant, segment_id):
            ids: dict[str, dict] = {}
            for i in identities_of_customers(engine, tenant=tenant, cdp_ids=[m["cdp_id"] for m in page]):
                if i["id_type"] in ("user_id", "email"):
                    ids.setdefault(i["cdp_id"], {}).setdefault(i["id_type"], i["id_value"])
            for m in page:
                known = ids.get(m["cdp_id"], {})
                yield writer.writerow([csv_cell(m["cdp_id"]), api_time(m["entered_at"]), csv_cell(known.get("user_id", "")),
                                       csv_cell(known.get("email", ""))])

    return lines()


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


def segment_exports(*, tenant: TenantRef, segment_id: int, limit: int = 10) -> list[SegmentExport]:
    """The segment's last exports to a table, newest first."""
    return list(SegmentExport.objects.filter(tenant_id=tenant.id, segment_id=segment_row(tenant, segment_id).id).order_by("-id")[:limit])


def customer_segments(*, tenant: TenantRef, cdp_id: str, known: bool = False) -> list[dict]:
    """The segments a customer is in now, with when each was entered. `known`: NotFound unless
    the customer exists (the API's answer for an id of nobody, or of another tenant)."""
    if known and not live_customers(tenant=tenant, cdp_ids=[cdp_id]):
        raise NotFound(f"No customer {cdp_id} in this tenant.")
    rows = get_engine().execute(sql.CUSTOMER_SEGMENTS, {"tenant_id": tenant.slug, "cdp_id": cdp_id}).dicts()
    names = dict(Segment.objects.filter(tenant_id=tenant.id, id__in=[r["segment_id"] for r in rows]).values_list("id", "name"))
    return [{"segment_id": r["segment_id"], "name": names.get(r["segment_id"], ""), "entered_at": r["entered_at"]} for r in rows
            if r["segment_id"] in names]


def segment_explain(*, tenant: TenantRef, segment_id: int, cdp_id: str, now: datetime | None = None) -> dict:
    """Why a customer is in a segment, or not: the definition's tree with, at each node, whether it
    holds now and, at each condition, the values it was decided on (the trait's value and time,
    the matching calls' count and last time, the bucket...). Also whether the last refresh put
    the customer in, and since when (a refresh since may have changed it)."""
    row = segment_row(tenant, segment_id)
    now = (now or timezone.now()).astimezone(UTC)
    engine = get_engine()
    membership = next((r for r in customer_segments(tenant=tenant, cdp_id=cdp_id) if r["segment_id"] == row.id), None)
    if membership is None and not live_customers(tenant=tenant, cdp_ids=[cdp_id]):
        raise NotFound(f"No customer {cdp_id} in this tenant.")
    out = {"segment_id": row.id, "cdp_id": cdp_id, "at": now, "kind": row.kind, "member": membership is not None,
           "member_since": membership["entered_at"] if membership else None}
    if row.kind == "manual":
        out["holds"], out["tree"] = out["member"], None
        return out
    tests = compile_leaves(row.definition, tenant_id=tenant.slug, cdp_id=cdp_id, now=now)
    held = {r["leaf"] for r in engine.execute(tests.statement("segments.explain_leaves"), tests.params)}
    facts: dict[int, list[dict]] = {}
    compiled = compile_facts(row.definition, tenant_id=tenant.slug, cdp_id=cdp_id, now=now)
    if compiled is not None:
        for r in engine.execute(compiled.statement("segments.explain_facts"), compiled.params).dicts():
            facts.setdefault(r.pop("leaf"), []).append({k: v for k, v in r.items() if v is not None})
    positions = {path: i for i, (path, _) in enumerate(leaves(row.definition))}
    out["tree"] = _explained(row.definition, "$", positions, held, facts, tenant, cdp_id)
    out["holds"] = out["tree"]["holds"]
    return out


def _explained(tree: dict, path: str, positions: dict, held: set, facts: dict, tenant: TenantRef, cdp_id: str) -> dict:
    if "all" in tree or "any" in tree:
        key = "all" if "all" in tree else "any"
        children = [_explained(m, f"{path}.{key}[{i}]", positions, held, facts, tenant, cdp_id) for i, m in enumerate(tree[key])]
        holds = all(c["holds"] for c in children) if key == "all" else any(c["holds"] for c in children)
        return {"path": path, "group": key, "holds": holds, "children": children}
    if "not" in tree:
        child = _explained(tree["not"], f"{path}.not", positions, held, facts, tenant, cdp_id)
        return {"path": path, "group": "not", "holds": not child["holds"], "children": [child]}
    i = positions[path]
    found = facts.get(i, [])
    if tree["type"] == "bucket":
        drawn = bucket(f"{tenant.slug}:{tree['salt']}:{cdp_id}")
        found = [{"fact": "bucket", "calls": drawn, "value": f"{drawn / 100:.2f}%"}]
    return {"path": path, "condition": tree, "holds": i in held, "facts": found}


def membership_changes_since(*, tenant: TenantRef, after: tuple[datetime, str], limit: int = 10_000,
                             until: datetime | None = None) -> list[dict]:
    """The membership log after a reader's watermark `(changed_at, change_id)`, oldest first: how
    journeys learn who entered and left segments. `until` leaves out later changes (a backtest)."""
    params = {"tenant_id": tenant.slug, "after_at": after[0], "after_id": after[1], "limit": limit}
    if until is None:
        return get_engine().execute(sql.CHANGES_SINCE, params).dicts()
    return get_engine().execute(sql.CHANGES_BETWEEN, {**params, "until_at": until}).dicts()


def definition_holds_for(*, tenant: TenantRef, definition: dict, cdp_ids, now: datetime) -> set[str]:
    """Which of these customers a (valid) definition holds for at `now`: one statement a batch,
    however many customers (a journey branch over the instances standing at it)."""
    engine, held = get_engine(), set()
    for chunk in engine.chunks(set(cdp_ids)):
        compiled = compile_holds_for(definition, tenant_id=tenant.slug, now=now, candidates=chunk)
        held.update(r["cdp_id"] for r in engine.execute(compiled.statement("segments.holds_for"), compiled.params))
    return held


def calls_matching(*, tenant: TenantRef, steps: list[dict], loaded_after: datetime, loaded_until: datetime,
                   by: str = "loaded_at") -> list[dict]:
    """The calls loaded in (`loaded_after`, `loaded_until`] passing any of `steps` (`{"event", "where"}`,
    filters as in segments), oldest first, each with `step`, the position of a step it passed (a
    call passing two steps comes twice): journeys' entries, waits, goals and exits.

    `by="event_time"` windows the calls by when they happened and reports that time as their
    `loaded_at` too: a backtest sees each call as if it had been loaded the moment it happened."""
    if not steps:
        return []
    compiled = compile_matching_calls(steps, tenant_id=tenant.slug, loaded_after=loaded_after, loaded_until=loaded_until, by=by)
    rows = get_engine().execute(compiled.statement("segments.calls_matching" + ("" if by == "loaded_at" else "_by_event_time")), compiled.params).dicts()
    for row in rows:
        row["properties"] = _properties(row.get("properties"))
        if by == "event_time":
            row["loaded_at"] = row["event_time"]
    return sorted(rows, key=lambda r: (r["loaded_at"], r["event_time"], r["message_id"], r["step"]))


def _properties(text) -> dict:
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def segment_ids(*, tenant: TenantRef) -> set[int]:
    return set(Segment.objects.filter(tenant_id=tenant.id).values_list("id", flat=True))
