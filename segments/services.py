"""Segment writes: definitions (versioned on every change) and refreshes (membership and its log).

A refresh evaluates the definition as one statement at the run's clock, compares the audience
with the stored members, and in one lakehouse transaction writes the entries and exits to the
log and the current members. One refresh per segment at a time (a lease); the log is append-only,
so who was a member at any past time is a query of it (`selectors.segment_members(at=...)`).
"""
from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from identity.selectors import alias_target, identifier_owners, identity_rewritten_since, live_customers
from kernel.errors import Conflict, InvalidInput
from lakehouse import get_engine
from lakehouse.statements import Statement
from operations.leases import lease_acquire, lease_release
from operations.queue import task_enqueue
from segments import sql
from segments.compiler import Changes, compile_refresh_log
from segments.definitions import definition_errors, referenced_segments
from segments.models import Segment, SegmentRun, SegmentVersion
from segments.selectors import segment_info, segment_row
from segments.tables import MEMBERS, MEMBERSHIP_LOG
from segments.types import ListEdit, MemberRef, SegmentInfo
from tenancy.selectors import tenant_ref_by_id, tenants_by_id
from tenancy.services import audit_record
from tenancy.types import TenantRef

logger = logging.getLogger("cdp.segments")
REFRESH_LEASE_SECONDS = 15 * 60


def definition_checked(tenant: TenantRef, definition, *, segment_id: int | None = None) -> dict:
    """The definition, or InvalidInput naming each bad node by its path (and any cycle it makes)."""
    errors = definition_errors(definition)
    if errors:
        raise InvalidInput("The definition is not valid.", errors=[{**e, "field": "definition" + e["field"][1:]} for e in errors])
    _refuse_cycle(tenant, definition, segment_id)
    return definition


def _refuse_cycle(tenant: TenantRef, definition: dict, segment_id: int | None) -> None:
    """A segment may name others, never itself through any chain of them."""
    names = dict(Segment.objects.filter(tenant_id=tenant.id).values_list("id", "name"))
    uses = {sid: referenced_segments(d) for sid, d in Segment.objects.filter(tenant_id=tenant.id).values_list("id", "definition")}
    unknown = sorted(referenced_segments(definition) - set(names))
    if unknown:
        raise InvalidInput(f"No segment {unknown[0]} in this tenant.", errors=[{"field": "definition", "message": f"unknown segment {unknown[0]}"}])
    if segment_id is None:
        return
    uses[segment_id] = referenced_segments(definition)
    path, seen = [], set()

    def visit(sid: int) -> list[int] | None:
        if sid == segment_id and path:
            return [*path, sid]
        if sid in seen:
            return None
        seen.add(sid)
        path.append(sid)
        for nxt in sorted(uses.get(sid, ())):
            found = visit(nxt)
            if found:
                return found
        path.pop()
        return None

    cycle = visit(segment_id)
    if cycle:
        chain = " → ".join(names.get(s, str(s)) for s in cycle)
        raise InvalidInput(f"A segment cannot contain itself: {chain}.", errors=[{"field": "definition", "message": f"cycle: {chain}"}])


def segment_create(*, tenant: TenantRef, name: str, definition: dict | None, actor: str, description: str = "",
                   refresh_minutes: int = 5, kind: str = "rules") -> SegmentInfo:
    """A segment decided by its rules (`definition`), or a manual list (`kind="manual"`, no
    definition: its members are edited by `segment_list_edit`)."""
    name = name.strip()
    if not name:
        raise InvalidInput("Give the segment a name.", errors=[{"field": "name", "message": "must not be empty"}])
    if kind == "manual":
        if definition:
            raise InvalidInput("A manual list has no definition: its members are uploaded or edited.",
                               errors=[{"field": "definition", "message": "leave it out for a manual list"}])
        definition = {}
    elif kind == "rules":
        if definition is None:
            raise InvalidInput("Give the segment a definition.", errors=[{"field": "definition", "message": "required"}])
        definition_checked(tenant, definition)
    else:
        raise InvalidInput("A segment is decided by rules or is a manual list.", errors=[{"field": "kind", "message": "rules or manual"}])
    try:
        with transaction.atomic():
            row = Segment.objects.create(tenant_id=tenant.id, name=name, description=description, definition=definition,
                                         refresh_minutes=refresh_minutes, created_by=actor, kind=kind)
            SegmentVersion.objects.create(segment=row, version=1, definition=definition, created_by=actor)
    except IntegrityError:
        raise Conflict(f"A segment named '{name}' already exists.") from None
    audit_record(tenant=tenant, actor=actor, action="segment.create", target=name, details={"id": row.id})
    return segment_info(row)


def segment_update(*, tenant: TenantRef, segment_id: int, actor: str, changes: dict) -> SegmentInfo:
    """Change the name, description, refresh interval or definition; a new definition is a new version."""
    row = segment_row(tenant, segment_id)
    if row.kind == "manual" and changes.get("definition"):
        raise InvalidInput("A manual list has no definition: edit its members instead.",
                           errors=[{"field": "definition", "message": "a manual list has none"}])
    if "definition" in changes and changes["definition"] is not None and changes["definition"] != row.definition:
        row.definition = definition_checked(tenant, changes["definition"], segment_id=row.id)
        row.version += 1
        SegmentVersion.objects.create(segment=row, version=row.version, definition=row.definition, created_by=actor)
    for field in ("name", "description", "refresh_minutes"):
        if field in changes and changes[field] is not None:
            setattr(row, field, changes[field].strip() if isinstance(changes[field], str) else changes[field])
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise Conflict(f"A segment named '{row.name}' already exists.") from None
    audit_record(tenant=tenant, actor=actor, action="segment.update", target=row.name, details={"version": row.version})
    return segment_info(row)


def segment_delete(*, tenant: TenantRef, segment_id: int, actor: str) -> None:
    """Delete a segment no other segment uses (journeys and campaigns will be checked here too)."""
    row = segment_row(tenant, segment_id)
    users = [name for name, d in Segment.objects.filter(tenant_id=tenant.id).exclude(id=row.id).values_list("name", "definition")
             if row.id in referenced_segments(d)]
    if users:
        raise Conflict(f"{row.name} is used by {', '.join(sorted(users))}; change them first.")
    get_engine().delete(sql.DELETE_SEGMENT, {"tenant_id": tenant.slug, "segment_id": row.id})
    row.delete()
    audit_record(tenant=tenant, actor=actor, action="segment.delete", target=row.name)


def segment_refresh(*, tenant: TenantRef, segment_id: int, trigger: str, now: datetime | None = None, full: bool = False) -> SegmentRun:
    """Re-evaluate the segment at `now` (default: the current time) and record who entered and
    left, here and now (the schedule, tests): incrementally when it can (`_plan`), fully when
    `full`. Raises Conflict while another refresh of it runs."""
    row = segment_row(tenant, segment_id)
    now = (now or timezone.now()).astimezone(UTC)
    run = SegmentRun.objects.create(segment=row, tenant_id=tenant.id, trigger=trigger, version=row.version, clock=now,
                                    kind="full" if full else "auto")
    return _execute(run, row, tenant)


def segment_refresh_queue(*, tenant: TenantRef, segment_id: int, trigger: str, full: bool = True) -> SegmentRun:
    """Queue a refresh (it can take minutes on a large tenant): the run is recorded as queued and
    `segments.tasks.segment_refresh_run` carries it out on a worker; poll `GET .../runs`. Asked
    for by a person, it is full unless told otherwise."""
    row = segment_row(tenant, segment_id)
    run = SegmentRun.objects.create(segment=row, tenant_id=tenant.id, trigger=trigger, version=row.version, clock=timezone.now(),
                                    state="queued", kind="full" if full else "auto")
    task_enqueue("segments.tasks.segment_refresh_run", run.id, name=f"segment-refresh-{tenant.slug}-{row.id}", tenant_id=tenant.id)
    run.refresh_from_db()
    return run


def segment_refresh_execute(run_id: int) -> SegmentRun:
    """Carry out a started or queued run at its clock, under the segment's lease."""
    run = SegmentRun.objects.select_related("segment").get(id=run_id)
    return _execute(run, run.segment, tenant_ref_by_id(run.tenant_id))


def _execute(run: SegmentRun, row: Segment, tenant: TenantRef) -> SegmentRun:
    lease = f"segment-refresh-{row.id}"
    token = lease_acquire(lease, seconds=REFRESH_LEASE_SECONDS)
    if token is None:
        SegmentRun.objects.filter(id=run.id).update(state="failed", finished_at=timezone.now(), error="another refresh of it was running")
        raise Conflict(f"{row.name} is being refreshed; try again when that ends.")
    changes = None if run.kind == "full" or row.kind == "manual" else _plan(tenant, row, run)
    kind = "manual" if row.kind == "manual" else "incremental" if changes else "full"
    if run.state == "queued":  # a worker took it: say so while it runs (a refresh started here is running already)
        SegmentRun.objects.filter(id=run.id).update(state="running", kind=kind)
    try:
        entered, exited, members = _apply(tenant, row, run.id, run.clock, changes)
    except Exception as exc:
        SegmentRun.objects.filter(id=run.id).update(state="failed", kind=kind, finished_at=timezone.now(),
                                                    error=f"{type(exc).__name__}: {exc}"[:2000])
        lease_release(lease, token)
        raise
    finished = timezone.now()
    with transaction.atomic():  # one commit: the schedule refreshes many segments in a row
        SegmentRun.objects.filter(id=run.id).update(state="succeeded", kind=kind, finished_at=finished, members=members,
                                                    entered=entered, exited=exited)
        Segment.objects.filter(id=row.id).update(members=members, last_refreshed_at=run.clock)
        lease_release(lease, token)
    run.state, run.kind, run.finished_at, run.members, run.entered, run.exited = "succeeded", kind, finished, members, entered, exited
    return run


# Writes committed up to this long after a refresh began are still seen by the next one.
OVERLAP = timedelta(minutes=10)
# Clocks of two hosts (a web worker and a job) may differ by this much.
CLOCK_MARGIN = timedelta(seconds=5)
# However well incremental refreshes do, a segment is evaluated in full at least this often.
FULL_EVERY = timedelta(hours=24)


def _plan(tenant: TenantRef, row: Segment, run: SegmentRun) -> Changes | None:
    """What an automatic refresh re-evaluates: None (everyone) when there is no earlier refresh of
    this version to start from, the clock went back, the last full one is a day old, or identity
    was rewritten since (a rebuild, an unmerge, a block); otherwise the changes since the last one."""
    done = SegmentRun.objects.filter(segment_id=row.id, state="succeeded", version=row.version, kind__in=("full", "incremental"),
                                     id__lt=run.id)
    previous = done.order_by("-id").first()
    last_full = done.filter(kind="full").order_by("-id").first()
    if previous is None or last_full is None or previous.clock > run.clock or run.clock - last_full.clock >= FULL_EVERY:
        return None
    since = previous.started_at - OVERLAP
    if identity_rewritten_since(tenant=tenant, since=since):
        return None
    named = referenced_segments(row.definition)
    # A run's log is committed before it is marked finished: one finished before the previous
    # refresh began was seen by it (less a margin for clocks of different hosts). One never marked
    # (its process died) counts while it could have been writing: within its lease of the start.
    alive_since = previous.started_at - timedelta(seconds=REFRESH_LEASE_SECONDS) - CLOCK_MARGIN
    runs = tuple(SegmentRun.objects.filter(tenant_id=tenant.id, segment_id__in=named).filter(
        Q(finished_at__isnull=True, started_at__gte=alive_since) | Q(finished_at__gte=previous.started_at - CLOCK_MARGIN))
        .values_list("id", flat=True)) if named else ()
    return Changes(since=since, t0=previous.clock, segment_runs=runs)


def _apply(tenant: TenantRef, row: Segment, run_id: int, now: datetime, changes: Changes | None = None) -> tuple[int, int, int]:
    engine = get_engine()
    if row.kind == "manual":
        stored = {r["cdp_id"] for r in engine.execute(sql.CURRENT_MEMBERS, {"tenant_id": tenant.slug, "segment_id": row.id})}
        followed = _list_followed(tenant, stored)
        entered, exited = followed - stored, stored - followed
    else:
        entered_n, exited_n = _refresh_in_sql(tenant, row, run_id, now, changes)
        entered = exited = None
    if entered is not None:
        entered_n, exited_n = _write_changes(tenant, row, run_id, now, entered=entered, exited=exited)
    count = engine.execute(sql.MEMBER_COUNT, {"tenant_id": tenant.slug, "segment_id": row.id}).first()
    members = count["members"] if count else 0
    logger.info("segment refreshed", extra={"cdp_segment": row.id, "cdp_members": members, "cdp_entered": entered_n,
                                            "cdp_exited": exited_n, "cdp_incremental": changes is not None})
    return entered_n, exited_n, members


def _refresh_in_sql(tenant: TenantRef, row: Segment, run_id: int, now: datetime, changes: Changes | None) -> tuple[int, int]:
    """The engine works out the differences from the stored members (over the candidates of an
    incremental refresh) and writes them to the log, then the entries into the members; only the
    exits' ids come back, to delete. One transaction on the engines that have them."""
    engine = get_engine()
    log = compile_refresh_log(row.definition, tenant_id=tenant.slug, segment_id=row.id, run_id=run_id, now=now, changes=changes)
    keys = {"tenant_id": tenant.slug, "segment_id": row.id, "changed_at": now, "run_id": run_id}
    with engine.transaction():
        engine.execute(Statement("segments.refresh_log", log.sql, writes=True, idempotent=False), log.params)
        engine.execute(sql.ENTER_FROM_LOG, keys)
        moved = engine.execute(sql.RUN_CHANGES, keys).dicts()
        exited = [r["cdp_id"] for r in moved if r["change"] == "exited"]
        for chunk in engine.chunks(exited, writes=True):
            engine.delete(sql.DELETE_MEMBERS, {"tenant_id": tenant.slug, "segment_id": row.id, "cdp_ids": chunk})
    return len(moved) - len(exited), len(exited)


def _list_followed(tenant: TenantRef, stored: set[str]) -> set[str]:
    """A manual list's members after merges: a member merged into another customer is replaced by
    that customer; one erased leaves."""
    live = live_customers(tenant=tenant, cdp_ids=stored)
    followed = set(live)
    for gone in stored - live:
        target = alias_target(tenant=tenant, cdp_id=gone)
        if target:
            followed.add(target)
    return followed


def _write_changes(tenant: TenantRef, row: Segment, run_id: int, now: datetime, *, entered: set[str], exited: set[str]) -> tuple[int, int]:
    """Record entries and exits: the append-only log and the current members, in one lakehouse
    transaction on the engines that have them."""
    engine = get_engine()
    entered, exited = sorted(entered), sorted(exited)
    log = [{"tenant_id": tenant.slug, "change_id": uuid.uuid4().hex, "segment_id": row.id, "cdp_id": cdp_id, "change": change,
            "changed_at": now, "run_id": run_id} for change, ids in (("entered", entered), ("exited", exited)) for cdp_id in ids]
    with engine.transaction():
        if log:
            engine.insert_many(MEMBERSHIP_LOG, log)
        if entered:
            engine.insert_many(MEMBERS, [{"tenant_id": tenant.slug, "segment_id": row.id, "cdp_id": c, "entered_at": now} for c in entered])
        for chunk in engine.chunks(exited, writes=True):
            engine.delete(sql.DELETE_MEMBERS, {"tenant_id": tenant.slug, "segment_id": row.id, "cdp_ids": chunk})
    return len(entered), len(exited)


# --- manual lists --------------------------------------------------------------------------------

MAX_LIST_EDIT = 100_000


def segment_list_edit(*, tenant: TenantRef, segment_id: int, actor: str, add: list[MemberRef] = (), remove: list[MemberRef] = (),
                      replace: bool = False, now: datetime | None = None) -> ListEdit:
    """Add customers to a manual list and remove others, each named by cdp_id or by an identifier;
    `replace` makes the list exactly `add`. Identifiers that resolve to nobody are reported, not
    fatal. Recorded like a refresh: a run, the membership log, the audit trail."""
    row = segment_row(tenant, segment_id)
    if row.kind != "manual":
        raise InvalidInput(f"{row.name} is decided by its rules; only a manual list's members are edited.",
                           errors=[{"field": "kind", "message": "not a manual list"}])
    if len(add) + len(remove) > MAX_LIST_EDIT:
        raise InvalidInput(f"At most {MAX_LIST_EDIT:,} customers an edit; split the file.",
                           errors=[{"field": "add", "message": f"at most {MAX_LIST_EDIT} in all"}])
    adding, unknown_add = _resolve(tenant, add)
    removing, unknown_remove = _resolve(tenant, remove)
    unknown = unknown_add + unknown_remove
    now = (now or timezone.now()).astimezone(UTC)
    run = SegmentRun.objects.create(segment=row, tenant_id=tenant.id, kind="edit", trigger=f"edited by {actor}", version=row.version,
                                    clock=now)
    lease = f"segment-refresh-{row.id}"
    token = lease_acquire(lease, seconds=REFRESH_LEASE_SECONDS)
    if token is None:
        SegmentRun.objects.filter(id=run.id).update(state="failed", finished_at=timezone.now(), error="a refresh of it was running")
        raise Conflict(f"{row.name} is being changed by another edit or refresh; try again when that ends.")
    try:
        stored = {r["cdp_id"] for r in get_engine().execute(sql.CURRENT_MEMBERS, {"tenant_id": tenant.slug, "segment_id": row.id})}
        wanted = adding if replace else (stored | adding) - removing
        entered, exited = _write_changes(tenant, row, run.id, now, entered=wanted - stored, exited=stored - wanted)
    except Exception as exc:
        SegmentRun.objects.filter(id=run.id).update(state="failed", finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    finally:
        lease_release(lease, token)
    SegmentRun.objects.filter(id=run.id).update(state="succeeded", finished_at=timezone.now(), members=len(wanted), entered=entered,
                                                exited=exited)
    Segment.objects.filter(id=row.id).update(members=len(wanted), last_refreshed_at=now)
    audit_record(tenant=tenant, actor=actor, action="segment.members", target=row.name,
                 details={"added": entered, "removed": exited, "unknown": len(unknown), "replace": replace})
    return ListEdit(added=entered, removed=exited, members=len(wanted), unknown=unknown[:20], unknown_count=len(unknown))


def _resolve(tenant: TenantRef, refs) -> tuple[set[str], list[str]]:
    """cdp_ids for references (a cdp_id, or an identifier type and value), and those that name nobody."""
    ids = {r.cdp_id for r in refs if r.cdp_id}
    identifiers = [(r.id_type, r.value) for r in refs if not r.cdp_id]
    owners = identifier_owners(tenant=tenant, identifiers=identifiers) if identifiers else {}
    live = live_customers(tenant=tenant, cdp_ids=ids) if ids else set()
    unknown = sorted(ids - live) + [f"{t}:{v}" for t, v in identifiers if (t, v) not in owners]
    return live | set(owners.values()), unknown


def segments_refresh_due(*, now: datetime | None = None) -> dict[str, int]:
    """The scheduled refresh: every segment whose interval has passed, segments others use first."""
    now = now or timezone.now()
    rows = list(Segment.objects.all())
    due = [r for r in rows if r.last_refreshed_at is None or (now - r.last_refreshed_at).total_seconds() >= r.refresh_minutes * 60 - 5]
    used = {sid for r in rows for sid in referenced_segments(r.definition)}
    tenants = tenants_by_id({r.tenant_id for r in due})
    done = failed = 0
    for r in sorted(due, key=lambda r: (r.id not in used, r.id)):
        try:
            segment_refresh(tenant=tenants[r.tenant_id], segment_id=r.id, trigger="schedule", now=now)
            done += 1
        except Conflict:
            continue  # refreshing already
        except Exception:
            failed += 1
            logger.exception("segment refresh failed", extra={"cdp_segment": r.id})
    return {"refreshed": done, "failed": failed}
