"""The Journey Orchestrator: one tick at a time, each a few set-based steps at one clock.

A tick (the 5-minute schedule, `manage.py cdp_orchestrate`, the Databricks job) takes the lease
and, for each tenant with live journeys, at its clock `now`:
1. reads segments' membership log from its watermark: entries into entry segments enrol, exits
   end the instances of journeys that exit on leaving; a scheduled entry whose cron moment has
   come enrols the segment's members;
2. reads the calls loaded since its events watermark that any live journey listens for, in one
   lakehouse statement: goals convert, exit events end, awaited events resume waiting
   instances (matching the instance's key when asked), entry events enrol;
3. ends instances past their lifetime and holdouts past their goal window;
4. advances every due instance through as many nodes as it can go, in rounds: each round reads
   the due instances, lets each node decide for all those at it (journeys.services.nodes) and
   applies the decisions in one transaction (journeys.services.moves).

Failure model: each batch of enrolments commits with the watermark that produced it, each
round's moves commit with their steps and sends, so a tick killed at any point leaves whole
batches; the next tick reads on from the watermarks and finds the instances where the last
commit left them. The logs are re-read with an overlap (writes committed late), and an instance
is made once per entry reference, so a re-read enrols nobody twice. Sends carry the key
(journey version, instance, node, step) and the outbox is unique on it.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from customers.selectors import erased_customers
from identity.selectors import merges_since
from journeys.graph import Flow
from journeys.models import Cursor, Instance, Journey, JourneyVersion, Tick
from journeys.services.enrol import Entrant, entrants_enrol
from journeys.services.moves import Move, moves_apply
from journeys.services.nodes import Batch, decide, reads_details
from journeys.types import TickSummary
from kernel.bulk import listed, rows_read
from kernel.cron import cron_latest
from kernel.timezones import tenant_zone, zone_named
from operations.leases import lease_acquire, lease_release, lease_renew
from operations.wakeups import wakeup_register
from segments.selectors import calls_matching, membership_changes_since, segment_members_all
from tenancy.selectors import tenants_by_id
from tenancy.types import TenantRef

logger = logging.getLogger("cdp.journeys")
LEASE = "journey-orchestrator"
LEASE_SECONDS = 15 * 60
# Log rows committed up to this long after their time are still seen (a slow refresh, a load).
OVERLAP = timedelta(minutes=10)
BATCH = 20000  # due instances a round reads
MAX_ROUNDS = 500  # bounds a tick: a graph's loops all wait, so rounds end long before


def orchestrator_tick(*, now: datetime | None = None, trigger: str = "schedule", journey_id: int | None = None,
                      progress: Callable[[str], None] = lambda message: None) -> TickSummary:
    """One tick at `now` (default: the current time). Returns what it did; `busy` when another
    tick held the lease (nothing done)."""
    now = (now or timezone.now()).astimezone(UTC)
    token = lease_acquire(LEASE, seconds=LEASE_SECONDS)
    if token is None:
        return TickSummary(tick_id=None, clock=now, counts={}, busy=True)
    tick = Tick.objects.create(trigger=trigger, clock=now)
    counts: Counter = Counter()
    nodes: Counter = Counter()
    try:
        live = Journey.objects.filter(status__in=("active", "paused"), live_version__isnull=False)
        if journey_id is not None:
            live = live.filter(id=journey_id)
        by_tenant = defaultdict(list)
        counts["journeys"] = live.count()
        for row in live.order_by("tenant_id", "id"):
            by_tenant[row.tenant_id].append(row)
        counts["erased"] += instances_follow_erasures()
        tenants = tenants_by_id(by_tenant)
        for tenant_id, journeys in by_tenant.items():
            tenant_tick(tenants[tenant_id], journeys, now, tick.id, counts, nodes, progress)
            lease_renew(LEASE, token, seconds=LEASE_SECONDS)
    except Exception as exc:
        Tick.objects.filter(id=tick.id).update(state="failed", finished_at=timezone.now(), counts=_counts(counts, nodes),
                                               error=f"{type(exc).__name__}: {exc}"[:2000])
        lease_release(LEASE, token)
        raise
    Tick.objects.filter(id=tick.id).update(state="succeeded", finished_at=timezone.now(), counts=_counts(counts, nodes))
    lease_release(LEASE, token)
    early_ticks_wanted()
    logger.info("orchestrator tick", extra={"cdp_summary": dict(counts)})
    return TickSummary(tick_id=tick.id, clock=now, counts=_counts(counts, nodes))


def early_ticks_wanted() -> bool:
    """Ask for a tick as soon as events load while any active journey listens for events (an
    event entry, a wait for events, a goal, exit events); returns whether one does."""
    listening = False
    for row in Journey.objects.filter(status="active", live_version__isnull=False):
        version = JourneyVersion.objects.filter(journey=row, version=row.live_version).values_list("definition", flat=True).first()
        spec = Flow(version, journey_id=row.id, version=row.live_version).spec
        if spec.entry.type == "event" or spec.goal or spec.exit.events or any(n.type == "wait_event" for n in spec.nodes):
            listening = True
            break
    wakeup_register(name=LEASE, topic="events", func="journeys.tasks.orchestrator_tick", wanted=listening)
    return listening


def _counts(counts: Counter, nodes: Counter) -> dict:
    return {**{k: v for k, v in sorted(counts.items())}, "nodes": {k: v for k, v in sorted(nodes.items())}}


def _flows(journeys: list[Journey]) -> dict[tuple[int, int], Flow]:
    """Every version a live instance or a new entrant follows, parsed once for the tick."""
    wanted = {(j.id, j.live_version) for j in journeys}
    wanted |= set(Instance.objects.filter(journey__in=journeys, status__in=Instance.LIVE).values_list("journey_id", "version").distinct())
    names = {j.id: j.name for j in journeys}
    flows = {}
    for version in JourneyVersion.objects.filter(journey__in=journeys, published_at__isnull=False):
        if (version.journey_id, version.version) in wanted:
            flows[(version.journey_id, version.version)] = Flow(version.definition, journey_id=version.journey_id,
                                                                version=version.version, name=names[version.journey_id])
    return flows


def tenant_tick(tenant: TenantRef, journeys: list[Journey], now: datetime, tick_id: int, counts: Counter, nodes: Counter,
                progress: Callable[[str], None] = lambda message: None, *, replay: bool = False) -> None:
    """One tenant's share of a tick. `replay` (a backtest, journeys.services.backtest): the logs
    are read as they stood at `now` (calls by their event time, membership changes up to `now`)
    and nothing leaves the operational database (no send queued, no webhook called, no trait
    written)."""
    counts["merged"] += instances_follow_merges(tenant, since=min(j.live_since for j in journeys))
    flows = _flows(journeys)
    active = [j for j in journeys if j.status == "active"]
    _segment_step(tenant, active, flows, now, tick_id, counts, replay)
    _schedule_step(tenant, active, flows, now, tick_id, counts, replay)
    _events_step(tenant, journeys, active, flows, now, tick_id, counts, replay)
    _ends_step(tenant, journeys, flows, now, tick_id, counts)
    rounds = _advance(tenant, active, flows, now, tick_id, counts, nodes, replay)
    progress(f"{tenant.slug}: {counts['enrolled']} enrolled, {counts['moved']} moved, {counts['queued']} sends queued "
             f"in {rounds} rounds")


def _cursor(tenant: TenantRef | None, source: str, start: datetime) -> Cursor:
    row, _ = Cursor.objects.get_or_create(tenant_id=tenant.id if tenant else None, source=source, defaults={"at": start})
    return row


EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def instances_follow_erasures() -> int:
    """Delete the instances (and their steps, whose details hold event properties) of customers
    erased since the last tick: they are personal data outside the lakehouse tables erasure
    reaches by construction. Returns how many."""
    cursor = _cursor(None, "erasures", EPOCH)
    erased = erased_customers(since=cursor.at)
    if not erased:
        return 0
    removed = 0
    with transaction.atomic():
        for tenant_id, cdp_id, _ in erased:
            removed += Instance.objects.filter(tenant_id=tenant_id, cdp_id=cdp_id).delete()[1].get("journeys.Instance", 0)
        cursor.at = erased[-1][2]
        cursor.save(update_fields=["at"])
    return removed


def instances_follow_merges(tenant: TenantRef, *, since: datetime) -> int:
    """Instances of customers merged into others since the last tick now belong to the survivor
    (their waits, goals and sends follow the customer the events now name)."""
    cursor = _cursor(tenant, "merges", since)  # no instance is older than the first publishing
    moved = 0
    while True:
        merges = merges_since(tenant=tenant, after=(cursor.at, cursor.after_id), limit=5000)
        if not merges:
            return moved
        with transaction.atomic():
            for merge in merges:
                moved += Instance.objects.filter(tenant_id=tenant.id, cdp_id=merge["merged_cdp_id"]).update(cdp_id=merge["cdp_id"])
            cursor.at, cursor.after_id = merges[-1]["merged_at"], merges[-1]["merge_id"]
            cursor.save(update_fields=["at", "after_id"])


def _add(counts: Counter, more: dict) -> None:
    for key, value in more.items():
        counts[key] += value


# --- 1. segment changes -------------------------------------------------------------------------

def _segment_step(tenant: TenantRef, active: list[Journey], flows: dict, now: datetime, tick_id: int, counts: Counter,
                  replay: bool) -> None:
    listening = [(j, flows[(j.id, j.live_version)]) for j in active if flows[(j.id, j.live_version)].spec.entry.type == "segment"]
    if not listening:
        return
    cursor = _cursor(tenant, "segments", min(j.live_since for j, _ in listening))
    after = (cursor.at - OVERLAP, "")
    while True:
        changes = membership_changes_since(tenant=tenant, after=after, limit=5000, until=now if replay else None)
        with transaction.atomic():
            for journey, flow in listening:
                segment = flow.spec.entry.segment_id
                entered = [Entrant(cdp_id=c["cdp_id"], ref=f"segment:{c['change_id']}",
                                   context={"segment_id": segment, "changed_at": c["changed_at"].isoformat()})
                           for c in changes if c["segment_id"] == segment and c["change"] == "entered"
                           and c["changed_at"] >= journey.live_since]
                _add(counts, entrants_enrol(tenant=tenant, journey=journey, flow=flow, entrants=entered, now=now, tick_id=tick_id))
                if flow.spec.exit.on_segment_exit:
                    left: dict[str, datetime] = {}
                    for c in changes:
                        if c["segment_id"] == segment and c["change"] == "exited":
                            left[c["cdp_id"]] = max(left.get(c["cdp_id"], c["changed_at"]), c["changed_at"])
                    _segment_leavers_end(tenant, journey, flows, left, now, tick_id, counts)
            if changes:
                last = changes[-1]
                cursor.at, cursor.after_id = max(cursor.at, last["changed_at"]), last["change_id"]
                cursor.save(update_fields=["at", "after_id"])
        if len(changes) < 5000:
            return
        after = (changes[-1]["changed_at"], changes[-1]["change_id"])


def _schedule_step(tenant: TenantRef, active: list[Journey], flows: dict, now: datetime, tick_id: int, counts: Counter,
                   replay: bool) -> None:
    """Scheduled entries: when the cron's latest moment since the journey's cursor has come,
    the segment's members enter (each once per moment: the moment is in their entry reference),
    committed with the cursor moved to that moment."""
    for journey in active:
        flow = flows[(journey.id, journey.live_version)]
        entry = flow.spec.entry
        if entry.type != "schedule":
            continue
        cursor = _cursor(tenant, f"schedule:{journey.id}", journey.live_since)
        zone = zone_named(entry.timezone) if entry.timezone else tenant_zone(tenant)
        moment = cron_latest(entry.cron, cursor.at, now, zone)
        if moment is None:
            continue
        stamp = moment.astimezone(UTC).isoformat()
        entrants = [Entrant(cdp_id=cdp_id, ref=f"schedule:{stamp}:{cdp_id}", context={"segment_id": entry.segment_id, "scheduled_for": stamp})
                    for cdp_id in segment_members_all(tenant=tenant, segment_id=entry.segment_id, at=moment if replay else None)]
        with transaction.atomic():
            _add(counts, entrants_enrol(tenant=tenant, journey=journey, flow=flow, entrants=entrants, now=now, tick_id=tick_id))
            cursor.at = moment
            cursor.save(update_fields=["at"])


def _segment_leavers_end(tenant: TenantRef, journey: Journey, flows: dict, left: dict[str, datetime], now: datetime, tick_id: int,
                         counts: Counter) -> None:
    """End the instances of customers who left the entry segment after the entry that began them
    (an exit re-read in the overlap must not end the instance of a later re-entry)."""
    if not left:
        return
    rows = list(Instance.objects.filter(journey=journey, status__in=Instance.LIVE, cdp_id__in=left))
    moves = [Move(r, "exit", end="exited", reason="left the entry segment") for r in rows if _entered(r) < left[r.cdp_id]]
    _add(counts, moves_apply(tenant=tenant, moves=moves, flows=flows, now=now, tick_id=tick_id))


def _entered(row: Instance) -> datetime:
    """When the membership change that enrolled it happened (its tick's clock for other entries)."""
    stamp = (row.context.get("entry") or {}).get("changed_at")
    try:
        return datetime.fromisoformat(stamp) if isinstance(stamp, str) else row.entered_at
    except ValueError:
        return row.entered_at


# --- 2. loaded calls: goals, exits, awaited events, entries ---------------------------------------

def _events_step(tenant: TenantRef, journeys: list[Journey], active: list[Journey], flows: dict, now: datetime, tick_id: int,
                 counts: Counter, replay: bool) -> None:
    listeners = event_listeners(journeys, active, flows)
    if not listeners:
        return
    cursor = _cursor(tenant, "events", min(j.live_since for j in journeys))
    # Load times are the loader's wall clock, so the watermark is too (`now`, the clock the tick
    # decides at, may be injected: tests). A replay sees each call at the moment it happened.
    loaded_until = now if replay else timezone.now()
    calls = calls_matching(tenant=tenant, steps=[step for _, step in listeners], loaded_after=cursor.at - OVERLAP,
                           loaded_until=loaded_until, by="event_time" if replay else "loaded_at")
    by_purpose = defaultdict(list)
    for call in calls:
        if call["cdp_id"]:
            by_purpose[listeners[call["step"]][0]].append(call)
    with transaction.atomic():
        for purpose in ("goal", "exit", "await", "entry"):  # a goal reached outranks the rest
            for (kind, *where), found in sorted(((p, c) for p, c in by_purpose.items() if p[0] == purpose), key=lambda item: item[0]):
                HANDLE[kind](tenant, where, found, journeys, flows, now, tick_id, counts)
        cursor.at = max(cursor.at, loaded_until)
        cursor.save(update_fields=["at"])


def event_listeners(journeys: list[Journey], active: list[Journey], flows: dict) -> list[tuple[tuple, dict]]:
    """(purpose, step) for every event step a journey listens for: goals and exits of every live
    version, awaited events of the nodes instances may wait at, entries of active journeys."""
    out = []
    for (journey_id, version), flow in sorted(flows.items()):
        spec = flow.spec
        if spec.goal:
            out.append((("goal", journey_id, version), _step(spec.goal)))
        out += [(("exit", journey_id, version, i), _step(e)) for i, e in enumerate(spec.exit.events)]
        for node in spec.nodes if journey_id in {j.id for j in active} else ():  # a paused journey's waits stay
            if node.type == "wait_event":
                out += [(("await", journey_id, version, node.id, i), _step(e)) for i, e in enumerate(node.events)]
    for journey in active:
        entry = flows[(journey.id, journey.live_version)].spec.entry
        if entry.type == "event":
            out.append((("entry", journey.id, journey.live_version), _step(entry)))
    return out


def _step(step) -> dict:
    return {"event": step.event, "event_type": step.event_type, "where": [f.model_dump() for f in step.where]}


def _key_of(call: dict, flow: Flow) -> str:
    key = flow.spec.entry.key if flow.keyed else ""
    value = call["properties"].get(key) if key else None
    return "" if value is None or isinstance(value, (dict, list)) else str(value)


def _live(journey_id: int, version: int, calls: list[dict], **filters) -> dict[str, list[Instance]]:
    out = defaultdict(list)
    cdp_ids = sorted({c["cdp_id"] for c in calls})
    for start in range(0, len(cdp_ids), 500):
        for row in Instance.objects.filter(journey_id=journey_id, version=version, cdp_id__in=cdp_ids[start:start + 500], **filters):
            out[row.cdp_id].append(row)
    return out


def _on_goal(tenant, where, calls, journeys, flows, now, tick_id, counts) -> None:
    journey_id, version = where
    flow = flows[(journey_id, version)]
    goal, taken, moves = flow.spec.goal, set(), []
    live = _live(journey_id, version, calls, status__in=Instance.LIVE)  # one read for every call's customer
    for call in calls:
        for row in live.get(call["cdp_id"], []):
            in_window = row.entered_at <= call["event_time"] <= row.entered_at + goal.within.delta
            if row.id in taken or not in_window or (goal.match_key and _key_of(call, flow) != row.key):
                continue
            taken.add(row.id)
            moves.append(Move(row, "goal", end="converted", reason=f"goal: {goal.event}", detail={"message_id": call["message_id"]}))
    _add(counts, {"converted": len(moves)})
    _add(counts, moves_apply(tenant=tenant, moves=moves, flows=flows, now=now, tick_id=tick_id))


def _on_exit(tenant, where, calls, journeys, flows, now, tick_id, counts) -> None:
    journey_id, version, index = where
    live = _live(journey_id, version, calls, status__in=Instance.LIVE)
    taken, moves = set(), []
    for call in calls:
        for row in live.get(call["cdp_id"], []):
            if row.id not in taken and call["event_time"] >= row.entered_at:
                taken.add(row.id)
                moves.append(Move(row, "exit", end="exited", reason=f"exit event: {call['event']}", detail={"message_id": call["message_id"]}))
    _add(counts, moves_apply(tenant=tenant, moves=moves, flows=flows, now=now, tick_id=tick_id))


def _on_await(tenant, where, calls, journeys, flows, now, tick_id, counts) -> None:
    """Instances waiting at the node for this event since before it happened move on its way."""
    journey_id, version, node_id, index = where
    flow = flows[(journey_id, version)]
    awaited = flow.node(node_id).events[index]
    waiting = _live(journey_id, version, calls, status="active", node=node_id)
    taken, moves = set(), []
    for call in calls:
        for row in waiting.get(call["cdp_id"], []):
            if row.id in taken or call["event_time"] < row.arrived_at or (awaited.match_key and _key_of(call, flow) != row.key):
                continue
            taken.add(row.id)
            moves.append(Move(row, f"event:{index}", awaited.next, detail={"message_id": call["message_id"], "event": call["event"]}))
    _add(counts, {"resumed": len(moves)})
    _add(counts, moves_apply(tenant=tenant, moves=moves, flows=flows, now=now, tick_id=tick_id))


def _on_entry(tenant, where, calls, journeys, flows, now, tick_id, counts) -> None:
    journey_id, version = where
    journey = next(j for j in journeys if j.id == journey_id)
    flow = flows[(journey_id, version)]
    entrants = [Entrant(cdp_id=c["cdp_id"], ref=f"event:{c['message_id']}", key=_key_of(c, flow),
                        context=c["properties"])
                for c in calls if c["loaded_at"] >= journey.live_since]
    _add(counts, entrants_enrol(tenant=tenant, journey=journey, flow=flow, entrants=entrants, now=now, tick_id=tick_id))


HANDLE = {"goal": _on_goal, "exit": _on_exit, "await": _on_await, "entry": _on_entry}


# --- 3. lifetimes and holdout windows ----------------------------------------------------------

def _ends_step(tenant: TenantRef, journeys: list[Journey], flows: dict, now: datetime, tick_id: int, counts: Counter) -> None:
    moves = []
    for (journey_id, version), flow in flows.items():
        spec = flow.spec
        mine = Instance.objects.filter(journey_id=journey_id, version=version)
        old = mine.filter(status__in=Instance.LIVE, entered_at__lt=now - timedelta(days=spec.limits.lifetime_days))
        moves += [Move(r, "lifetime", end="exited", reason=f"in the journey {spec.limits.lifetime_days} days") for r in old]
        if spec.goal:
            over = mine.filter(status="holdout", entered_at__lt=now - spec.goal.within.delta)
            ending = {m.instance.id for m in moves}
            moves += [Move(r, "holdout_over", end="completed", reason="holdout: the goal's window passed") for r in over if r.id not in ending]
    if moves:
        _add(counts, moves_apply(tenant=tenant, moves=moves, flows=flows, now=now, tick_id=tick_id))


# --- 4. advancing ---------------------------------------------------------------------------------

@dataclass(slots=True)
class Standing:
    """What a node decides on about a due instance (read as values: no model per row). The
    times and the context are read only for nodes that look at them (`nodes.reads_details`):
    at a wait or a send of 100,000 instances, parsing them was a fifth of the tick."""
    id: int
    instance_id: str
    journey_id: int
    version: int
    cdp_id: str
    key: str
    node: str
    step: int
    wait_set: bool
    retries: int
    bucket: int
    entered_at: datetime | None = None
    arrived_at: datetime | None = None
    due_at: datetime | None = None
    context: dict | None = None


LEAN = ("id", "instance_id", "journey_id", "version", "cdp_id", "key", "node", "step", "wait_set", "retries", "bucket")
DETAILS = ("entered_at", "arrived_at", "due_at", "context")


def _with_details(rows: list[Standing]) -> None:
    """Fill in the times and the context of these instances (a round's: at most BATCH), in one read."""
    by_id = {row.id: row for row in rows}
    for row_id, *values in rows_read(Instance.objects.filter(id__in=listed(list(by_id))).values_list("id", *DETAILS)):
        row = by_id[row_id]
        row.entered_at, row.arrived_at, row.due_at, row.context = values


def _advance(tenant: TenantRef, active: list[Journey], flows: dict, now: datetime, tick_id: int, counts: Counter,
             nodes: Counter, replay: bool = False) -> int:
    ids, after, rounds = [j.id for j in active], 0, 0
    # Passes over the due instances in id order, a batch a round (a keyset: no sort of every due
    # row each round); an instance moved to a node it can leave at once is found by the next
    # pass, and a pass that finds nothing from the start ends the advance.
    while rounds < MAX_ROUNDS:
        due = [Standing(*row) for row in rows_read(Instance.objects.filter(tenant_id=tenant.id, journey_id__in=ids, status="active",
                                                                               due_at__lte=now, id__gt=after)
                                                      .order_by("id").values_list(*LEAN)[:BATCH])]
        if not due:
            if after == 0:
                return rounds
            after = 0
            continue
        after, rounds = due[-1].id, rounds + 1
        groups = defaultdict(list)
        for row in due:
            groups[(row.journey_id, row.version, row.node)].append(row)
        moves = []
        for (journey_id, version, node_id), rows in sorted(groups.items()):
            flow = flows.get((journey_id, version))
            node = flow.node(node_id) if flow else None
            if node is None:
                moves += [Move(r, "missing", end="failed", reason=f"node {node_id} is not in version {version}") for r in rows]
                continue
            if reads_details(node):
                _with_details(rows)
            decided = decide(Batch(tenant=tenant, flow=flow, node=node, instances=rows, now=now, dry=replay))
            nodes[f"{journey_id}:{node_id}"] += sum(1 + len(m.together) for m in decided if m.hold_until is None)
            moves += decided
        _add(counts, moves_apply(tenant=tenant, moves=moves, flows=flows, now=now, tick_id=tick_id))
    logger.warning("orchestrator: round limit reached", extra={"cdp_tenant": tenant.slug})
    return MAX_ROUNDS
