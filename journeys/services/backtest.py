"""A journey version run without sending: over a past period of loaded events (a backtest), or
over today's audience with the clock moved forward (a simulation).

The real orchestrator does the work (`orchestrator.tenant_tick` in replay mode), inside a
transaction of the operational database that is rolled back at the end, so what a backtest says
is what a run over the same events would have done, by construction, not by a second model:
- inside the transaction the journey's own instances are set aside, the version is live from
  the period's start and the tenant's log cursors start there;
- ticks come on the schedule's grid (every 5 minutes of UTC), but only those at which something
  can happen: the first after each call the journey listens for (by its event time), after each
  change of the entry segment's membership, each instance's due time, each scheduled entry's
  moment, lifetimes and holdout windows ending; a tick in between would do nothing. Early ticks
  (a live run also ticks a minute after each load) are not modelled: a live run may act up to
  five minutes sooner than the backtest says;
- decisions read customers' data as it is now (traits, and segments in branches), at the tick's
  clock for time-relative conditions; no send is queued (the step is counted instead), no
  webhook called (the instance goes on with no variables, as in a journey test), no trait written;
- the result is the journey's report (journeys.report) as it would stand at the period's end,
  with the sends each node would have queued and the entries refused, by reason.

It holds the orchestrator's lease while it runs (a scheduled tick meanwhile finds it busy, and
the next catches up) and stops after MAX_TICKS ticks, saying so.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Min
from django.utils import timezone

from journeys.graph import Flow
from journeys.models import Cursor, Instance, InstanceStep, JourneyVersion, Tick
from journeys.report import journey_report
from journeys.selectors import journey_row
from journeys.services.enrol import Entrant, entrants_enrol
from journeys.services.journeys import publish_problems
from journeys.services.orchestrator import LEASE, LEASE_SECONDS, OVERLAP, event_listeners, tenant_tick
from kernel.cron import cron_next
from kernel.errors import Conflict, InvalidInput, NotFound
from kernel.timezones import tenant_zone, zone_named
from lakehouse.functions import bucket
from operations.leases import lease_acquire, lease_release
from operations.schedules import SCHEDULES
from segments.selectors import calls_matching, membership_changes_since, segment_members_all, segment_row
from tenancy.types import TenantRef

EVERY = timedelta(minutes=next(s.minutes for s in SCHEDULES if s.name == "journey-orchestrator"))
MAX_TICKS = 2000
MAX_PERIOD = timedelta(days=92)
MAX_AUDIENCE = 10_000
SHOWN = 100  # instances listed in the answer (who, where, how it ended); the counts cover them all
REFUSALS = ("no_key", "already_in", "entered_before", "entered_recently", "entry_limit", "hourly_limit")


def journey_backtest(*, tenant: TenantRef, journey_id: int, start: datetime | None, end: datetime | None = None,
                     version: int | None = None) -> dict:
    """What the journey (its live version, or `version`) would have done over [start, end]."""
    start, end = backtest_period(tenant=tenant, journey_id=journey_id, start=start, end=end)
    return _sandboxed(tenant, journey_id, version, start, end, mode="backtest")


def journey_simulate(*, tenant: TenantRef, journey_id: int, version: int | None = None, segment_id: int | None = None,
                     sample: int = 1000, days: int = 30) -> dict:
    """The journey run from now over today's audience (the entry segment's members, or those of
    `segment_id`; a stable sample of at most `sample`), the clock moved forward `days` through
    every wait; no event comes, so waits for events take their timeouts."""
    now = timezone.now().astimezone(UTC)
    return _sandboxed(tenant, journey_id, version, now, now + timedelta(days=days), mode="audience", segment_id=segment_id,
                      sample=sample)


def backtest_period(*, tenant: TenantRef, journey_id: int, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The period a backtest covers, in UTC (the end defaults to now), or why it cannot."""
    journey_row(tenant, journey_id)  # another tenant's journey is not found, whatever the period says
    if start is None:
        raise InvalidInput("A backtest needs the period's start.", errors=[{"field": "start", "message": "required for a backtest"}])
    now = timezone.now()
    start, end = start.astimezone(UTC), (end or now).astimezone(UTC)
    if not start < end:
        raise InvalidInput("A backtest's start comes before its end.", errors=[{"field": "start", "message": "before end"}])
    if end > now + EVERY:
        raise InvalidInput("A backtest looks back: its end is at the latest now (simulate today's audience to look ahead).",
                           errors=[{"field": "end", "message": "in the past"}])
    if end - start > MAX_PERIOD:
        raise InvalidInput(f"A backtest covers at most {MAX_PERIOD.days} days.", errors=[{"field": "start", "message": "too far back"}])
    return start, end


def runnable(*, tenant: TenantRef, journey_id: int, version: int | None, mode: str, segment_id: int | None = None,
             sample: int = 0) -> Flow:
    """The version to run (`version`, else the live one, else the newest), checked as publishing
    checks it, and for an audience simulation whose members enter; or why it cannot run."""
    row = journey_row(tenant, journey_id)
    number = version or row.live_version or row.version
    stored = JourneyVersion.objects.filter(journey=row, version=number).first()
    if stored is None:
        raise NotFound(f"{row.name} has no version {number}.")
    errors = [p for p in publish_problems(tenant=tenant, definition=stored.definition) if p.severity == "error"]
    if errors:
        raise InvalidInput(f"Version {number} could not run: {errors[0].field}: {errors[0].message}.",
                           errors=[{"field": f"definition.{p.field}", "message": p.message} for p in errors])
    flow = Flow(stored.definition, journey_id=row.id, version=number, name=row.name)
    if mode == "audience":
        _audience_source(tenant, flow, segment_id, sample)
    return flow


def _sandboxed(tenant: TenantRef, journey_id: int, version: int | None, start: datetime, end: datetime, *, mode: str,
               segment_id: int | None = None, sample: int = 0) -> dict:
    flow = runnable(tenant=tenant, journey_id=journey_id, version=version, mode=mode, segment_id=segment_id, sample=sample)
    row = journey_row(tenant, journey_id)
    audience = _audience(tenant, flow, segment_id, sample) if mode == "audience" else []
    token = lease_acquire(LEASE, seconds=LEASE_SECONDS)
    if token is None:
        raise Conflict("The orchestrator is running a tick: try again when it ends (a tick takes seconds to minutes).")
    try:
        with transaction.atomic():
            result = _run(tenant, row, flow, start, end, audience)
            transaction.set_rollback(True)  # nothing the run did stays
    finally:
        lease_release(LEASE, token)
    return {"journey_id": row.id, "version": flow.version, "mode": mode, "start": start, "end": end, **result}


def _audience_source(tenant: TenantRef, flow: Flow, segment_id: int | None, sample: int) -> int:
    entry = flow.spec.entry
    source = segment_id or (entry.segment_id if entry.type in ("segment", "schedule") else None)
    if source is None:
        raise InvalidInput(f"{flow.name} is not entered from a segment: name one whose members to simulate it for.",
                           errors=[{"field": "segment_id", "message": "required for this journey's entry"}])
    segment_row(tenant, source)
    if not 1 <= sample <= MAX_AUDIENCE:
        raise InvalidInput(f"A simulation takes 1 to {MAX_AUDIENCE:,} customers.", errors=[{"field": "sample", "message": "1-10000"}])
    return source


def _audience(tenant: TenantRef, flow: Flow, segment_id: int | None, sample: int) -> list[str]:
    members = segment_members_all(tenant=tenant, segment_id=_audience_source(tenant, flow, segment_id, sample))
    # A stable sample: the same customers each time it is asked, whatever order the pages come in.
    return sorted(members, key=lambda cdp_id: (bucket(f"simulate:{flow.journey_id}:{cdp_id}"), cdp_id))[:sample]


def _run(tenant: TenantRef, row, flow: Flow, start: datetime, end: datetime, audience: list[str]) -> dict:
    row.status, row.live_version, row.live_since = "active", flow.version, start
    row.save(update_fields=["status", "live_version", "live_since"])
    JourneyVersion.objects.filter(journey=row, version=flow.version, published_at__isnull=True).update(published_at=start)  # a draft
    Instance.objects.filter(journey=row).delete()  # set aside: the rollback brings them back
    Cursor.objects.filter(tenant_id=tenant.id).delete()  # every log read from the period's start
    tick = Tick.objects.create(trigger="backtest", clock=start)
    counts, nodes = Counter(), Counter()
    if audience:
        key = "simulated" if flow.keyed else ""  # a keyed journey's entrant needs a key; no event gives one
        entrants = [Entrant(cdp_id=cdp_id, ref=f"simulate:{cdp_id}", key=key) for cdp_id in audience]
        counts.update(entrants_enrol(tenant=tenant, journey=row, flow=flow, entrants=entrants, now=start, tick_id=tick.id))
    moments = _log_moments(tenant, row, flow, start, end)
    clock, ticks, truncated = _on_grid(start), 0, False
    while clock <= end:
        if ticks == MAX_TICKS:
            truncated = True
            break
        tenant_tick(tenant, [row], clock, tick.id, counts, nodes, replay=True)
        ticks += 1
        upcoming = _next_moment(tenant, row, flow, moments, clock)
        if upcoming is None:
            break
        clock = max(_on_grid(upcoming), clock + EVERY)
    instances = Instance.objects.filter(journey=row)
    statuses = dict(instances.values_list("status").annotate(n=Count("id")).order_by())
    return {"ticks": ticks, "truncated": truncated, "reached": min(clock, end) if truncated else end,
            "entered": counts["enrolled"], "held_out": counts["held_out"],
            "refused": {reason: counts[reason] for reason in REFUSALS if counts[reason]},
            "statuses": statuses, "sends": _sends(row, flow), "report": journey_report(tenant=tenant, journey_id=row.id),
            "instances": list(instances.order_by("cdp_id", "key", "entered_at").values("cdp_id", "key", "status", "node", "holdout",
                                                                                         "entered_at", "ended_at")[:SHOWN])}


def _on_grid(at: datetime) -> datetime:
    """The schedule's first tick at or after `at`."""
    step = int(EVERY.total_seconds())
    seconds = -(-int(at.timestamp()) // step) * step
    return datetime.fromtimestamp(seconds, tz=UTC)


def _log_moments(tenant: TenantRef, row, flow: Flow, start: datetime, end: datetime) -> list[datetime]:
    """When the logs the journey reads change in the period: the calls it listens for (by their
    event time) and the entry segment's membership changes."""
    flows = {(row.id, flow.version): flow}
    steps = [step for _, step in event_listeners([row], [row], flows)]
    moments = [c["event_time"] for c in calls_matching(tenant=tenant, steps=steps, loaded_after=start - OVERLAP, loaded_until=end,
                                                       by="event_time")] if steps else []
    entry = flow.spec.entry
    if entry.type == "segment":
        after = (start - OVERLAP, "")
        while True:
            changes = membership_changes_since(tenant=tenant, after=after, limit=5000, until=end)
            moments += [c["changed_at"] for c in changes if c["segment_id"] == entry.segment_id]
            if len(changes) < 5000:
                break
            after = (changes[-1]["changed_at"], changes[-1]["change_id"])
    return sorted(moments)


def _next_moment(tenant: TenantRef, row, flow: Flow, moments: list[datetime], clock: datetime) -> datetime | None:
    """The first time after `clock` at which a tick could do something, or None: nothing will."""
    spec, candidates = flow.spec, []
    index = bisect_right(moments, clock)
    if index < len(moments):
        candidates.append(moments[index])
    mine = Instance.objects.filter(journey=row)
    if mine.filter(status="active", due_at__lte=clock).exists():  # left by a round limit: the next tick goes on
        candidates.append(clock + EVERY)
    due = mine.filter(status="active", due_at__gt=clock).aggregate(at=Min("due_at"))["at"]
    if due:
        candidates.append(due)
    tiny = timedelta(microseconds=1)  # ends come strictly after the window
    oldest = mine.filter(status__in=Instance.LIVE).aggregate(at=Min("entered_at"))["at"]
    if oldest:
        candidates.append(oldest + timedelta(days=spec.limits.lifetime_days) + tiny)
    if spec.goal:
        held = mine.filter(status="holdout").aggregate(at=Min("entered_at"))["at"]
        if held:
            candidates.append(held + spec.goal.within.delta + tiny)
    if spec.entry.type == "schedule":
        zone = zone_named(spec.entry.timezone) if spec.entry.timezone else tenant_zone(tenant)
        candidates.append(cron_next(spec.entry.cron, clock, zone))
    later = [c for c in candidates if c > clock]
    return min(later) if later else None


def _sends(row, flow: Flow) -> dict[str, int]:
    """The sends each send node would have queued (steps on from it, not skipped)."""
    senders = [n.id for n in flow.spec.nodes if n.type == "send"]
    taken = (InstanceStep.objects.filter(instance__journey=row, node__in=senders, way__in=("next",))
             .values_list("node").annotate(n=Count("id")).order_by())
    return {node: n for node, n in taken}
