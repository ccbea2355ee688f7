"""What a tick decides for an instance, and applying a batch of decisions in one transaction.

Every decision is one of: move on (to a node, by a way, perhaps queuing a send), hold (wait
until a time, or try again later), or end. `moves_apply` writes a whole batch — the steps'
history rows, the sends into messaging's outbox, the instances' new state — in one transaction
of the operational database, so a tick killed at any point has applied a batch entirely or not
at all; the next tick decides the same again (the clock and the state are the same) and the
sends' idempotency keys make a send queued twice one delivery.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import F

from journeys.graph import Flow
from journeys.models import Instance, InstanceStep, Journey, JourneyVersion
from kernel.bulk import rows_insert
from messaging.services.outbox import deliveries_enqueue
from messaging.types import SendRequest
from tenancy.types import TenantRef


@dataclass
class Move:
    instance: Instance
    way: str
    to: str = ""  # the next node; "" with `end` set
    end: str = ""  # a final status: completed, exited, converted, failed
    reason: str = ""
    detail: dict = field(default_factory=dict)
    send: SendRequest | None = None
    hold_until: datetime | None = None  # stay at the node until then (no step recorded)
    context: dict | None = None  # the instance's new context (a webhook's answer in its variables)
    wait_set: bool = False
    retry: bool = False
    enroll: tuple | None = None  # (journey id, Entrant): an enrolment into another journey, made with the batch


def arrival_due(flow: Flow, node_id: str, now: datetime) -> datetime:
    """When an instance arriving at a node now is next looked at: a wait's end, a wait for
    events' timeout, else now (within this tick)."""
    node = flow.node(node_id)
    if node is not None and node.type == "wait":
        return now + node.duration.delta
    if node is not None and node.type == "wait_event":
        return now + node.timeout.delta
    return now


def moves_apply(*, tenant: TenantRef, moves: list[Move], flows: dict, now: datetime, tick_id: int | None) -> dict:
    """Apply decisions (each instance at most once); returns counts. Instances making the same
    change (to the same node, due at the same time; the same end; the same hold) are updated by
    one UPDATE a chunk of ids: a round of thousands is a handful of statements."""
    steps, sends, changes, contexts, enrolments = [], [], defaultdict(list), [], defaultdict(list)
    counts = {"moved": 0, "ended": 0, "queued": 0, "held": 0}
    for move in moves:
        row = move.instance
        if move.send is not None:  # a hold may queue a send too (a webhook's call, then its answer awaited)
            sends.append(move.send)
        if move.context is not None:
            contexts.append((row.id, move.context))
        if move.enroll is not None:
            enrolments[move.enroll[0]].append(move.enroll[1])
        if move.hold_until is not None:
            changes[("hold", move.hold_until, move.wait_set, move.retry)].append(row.id)
            counts["held"] += 1
            continue
        steps.append((row.id, row.step, row.node, move.way, move.to, now, {**move.detail, **({"reason": move.reason} if move.reason else {})},
                      tick_id))
        if move.end:
            changes[("end", move.end, move.reason[:200])].append(row.id)
            counts["ended"] += 1
        else:
            changes[("move", move.to, arrival_due(flows[(row.journey_id, row.version)], move.to, now))].append(row.id)
            counts["moved"] += 1
    with transaction.atomic():
        if sends:
            made, _ = deliveries_enqueue(tenant=tenant, requests=sends, now=now)
            counts["queued"] += made
        rows_insert(InstanceStep, STEP_COLUMNS, steps)
        for change, ids in changes.items():
            values = _values(change, now)
            for start in range(0, len(ids), CHUNK):
                Instance.objects.filter(id__in=ids[start:start + CHUNK]).update(**values)
        for row_id, context in contexts:  # each its own (answers differ by customer)
            Instance.objects.filter(id=row_id).update(context=context)
        for journey_id, entrants in enrolments.items():  # in the same commit: a replay finds its refs and enrols nobody twice
            counts["enrolled"] = counts.get("enrolled", 0) + enrol_into(tenant, journey_id, entrants, now, tick_id)
    return counts


def enrol_into(tenant: TenantRef, journey_id: int, entrants: list, now: datetime, tick_id: int | None) -> int:
    from journeys.services.enrol import entrants_enrol  # enrol places arrivals with this module's arrival_due

    journey = Journey.objects.filter(id=journey_id, tenant_id=tenant.id).first()
    if journey is None or journey.live_version is None:  # deleted since the step decided: nobody to enrol into
        return 0
    version = JourneyVersion.objects.get(journey=journey, version=journey.live_version)
    flow = Flow(version.definition, journey_id=journey.id, version=version.version, name=journey.name)
    made = entrants_enrol(tenant=tenant, journey=journey, flow=flow, entrants=entrants, now=now, tick_id=tick_id)
    return made["enrolled"] + made["held_out"]


STEP_COLUMNS = ("instance", "step", "node", "way", "to_node", "at", "detail", "tick")
CHUNK = 900  # ids an UPDATE names (under SQLite's and every engine's parameter limits)


def _values(change: tuple, now: datetime) -> dict:
    kind, *args = change
    if kind == "hold":
        until, wait_set, retry = args
        return {"due_at": until, "wait_set": wait_set, **({"retries": F("retries") + 1} if retry else {})}
    moved = {"step": F("step") + 1, "wait_set": False, "retries": 0}
    if kind == "end":
        status, reason = args
        return {**moved, "status": status, "ended_at": now, "end_reason": reason, "due_at": None,
                **({"converted_at": now} if status == "converted" else {})}
    node, due = args
    return {**moved, "node": node, "arrived_at": now, "due_at": due}
