"""What a tick decides for an instance, and applying a batch of decisions in one transaction.

Every decision is one of: move on (to a node, by a way, perhaps queuing a send), hold (wait
until a time, or try again later), or end. `moves_apply` writes a whole batch — the steps'
history rows, the sends into messaging's outbox, the instances' new state — in one transaction
of the operational database, so a tick killed at any point has applied a batch entirely or not
at all; the next tick decides the same again (the clock and the state are the same) and the
sends' idempotency keys make a send queued twice one delivery.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import DateTimeField, F, IntegerField, JSONField, Value
from django.db.models.functions import Cast, JSONObject

from journeys.graph import Flow
from journeys.models import Instance, InstanceStep, Journey, JourneyVersion
from journeys.services.sends import QueuedSend, send_key
from kernel.bulk import listed, rows_insert, rows_insert_select
from messaging.services.outbox import deliveries_enqueue, deliveries_enqueue_query
from messaging.types import SendRequest
from tenancy.types import TenantRef


@dataclass(slots=True)
class Move:
    instance: Instance
    way: str
    to: str = ""  # the next node; "" with `end` set
    end: str = ""  # a final status: completed, exited, converted, failed
    reason: str = ""
    detail: dict = field(default_factory=dict)
    send: SendRequest | None = None  # one instance's own send (a webhook's call)
    queue: QueuedSend | None = None  # a send node's message, queued with the step (shared by the node's moves)
    hold_until: datetime | None = None  # stay at the node until then (no step recorded)
    context: dict | None = None  # the instance's new context (a webhook's answer in its variables)
    wait_set: bool = False
    retry: bool = False
    enroll: tuple | None = None  # (journey id, Entrant): an enrolment into another journey, made with the batch
    # More instances at the same node of the same version deciding exactly this (a wait's whole
    # batch moving on): one Move for them all. Never with an instance's own send, context or enrolment.
    together: tuple = ()

    @property
    def instances(self) -> tuple:
        return (self.instance, *self.together)


def moving(rows: list, way: str, to: str = "", **decision) -> list[Move]:
    """One decision for all these instances (each of them takes it), as a list of moves."""
    return [Move(rows[0], way, to, together=tuple(rows[1:]), **decision)] if rows else []


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
    one UPDATE a chunk of ids, and those taking the same way with the same detail get their
    history rows and sends by one INSERT ... SELECT from their rows: a round of thousands is a
    handful of statements, and no row of theirs passes through Python again."""
    sends, changes, contexts, enrolments = [], defaultdict(list), [], defaultdict(list)
    queued, steps, arrivals = defaultdict(list), defaultdict(list), {}
    counts = {"moved": 0, "ended": 0, "queued": 0, "held": 0}
    for move in moves:
        row = move.instance
        rows = (row, *move.together) if move.together else (row,)
        ids = [r.id for r in rows]
        if move.send is not None:  # a hold may queue a send too (a webhook's call, then its answer awaited)
            sends.append(move.send)
        if move.queue is not None and move.queue.enqueue:
            queued[move.queue].extend(ids)
        if move.context is not None:
            contexts.append((row.id, move.context))
        if move.enroll is not None:
            enrolments[move.enroll[0]].append(move.enroll[1])
        if move.hold_until is not None:
            changes[("hold", move.hold_until, move.wait_set, move.retry)].extend(ids)
            counts["held"] += len(ids)
            continue
        # Grouped by what the history row says: the detail's text only when there is one (most
        # moves have none, or only a reason shared by all at the node).
        steps[(move.way, move.to, move.queue, move.reason, _text(move.detail))].append(move)
        if move.end:
            changes[("end", move.end, move.reason[:200])].extend(ids)
            counts["ended"] += len(ids)
        else:
            arrival = (row.journey_id, row.version, move.to)  # (a move's `together` are at its node of its version)
            if arrival not in arrivals:
                arrivals[arrival] = arrival_due(flows[(row.journey_id, row.version)], move.to, now)
            changes[("move", move.to, arrivals[arrival])].extend(ids)
            counts["moved"] += len(ids)
    with transaction.atomic():
        if sends:
            made, _ = deliveries_enqueue(tenant=tenant, requests=sends, now=now)
            counts["queued"] += made
        for spec, ids in queued.items():  # before the instances move: a key names the step they are at
            for chunk in _chunks(ids, SET_CHUNK):
                counts["queued"] += deliveries_enqueue_query(tenant=tenant, rows=_send_rows(spec, chunk), shapes={"send": spec.shape()},
                                                             now=now)
        _steps_insert(steps, now, tick_id)
        for change, ids in changes.items():
            values = _values(change, now)
            for chunk in _chunks(ids, SET_CHUNK):
                Instance.objects.filter(id__in=listed(chunk)).update(**values)
        for row_id, context in contexts:  # each its own (answers differ by customer)
            Instance.objects.filter(id=row_id).update(context=context)
        for journey_id, entrants in enrolments.items():  # in the same commit: a replay finds its refs and enrols nobody twice
            counts["enrolled"] = counts.get("enrolled", 0) + enrol_into(tenant, journey_id, entrants, now, tick_id)
    return counts


def _text(detail: dict) -> str:
    return json.dumps(detail, sort_keys=True, default=str) if detail else "{}"


def _chunks(ids: list, size: int):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _send_rows(spec: QueuedSend, ids: list[int]):
    """The instances' sends as messaging's queued-by-query rows (SEND_COLUMNS and their variables)."""
    return Instance.objects.filter(id__in=listed(ids)).annotate(
        send_key=spec.key_sql(), send_cdp_id=F("cdp_id"), send_address=Value(""), send_shape=Value("send"),
        send_expires_at=Value(None, output_field=DateTimeField()), send_variables=spec.variables_sql())


def _steps_insert(steps: dict, now: datetime, tick_id: int | None) -> None:
    """History rows: by one INSERT ... SELECT for each way taken by many with one detail, and
    for every send step (its detail is its key, computed there); one `executemany` for the rest."""
    plain = []
    for (way, to, spec, reason, _), taken in steps.items():
        first = taken[0]
        detail = {**first.detail, "reason": reason} if reason else first.detail
        if spec and detail:  # a send's step with more to say than its key: the key computed here
            plain += [(row.id, row.step, row.node, way, to, now, {"key": send_key(row, spec.node), **detail}, tick_id)
                      for move in taken for row in move.instances]
            continue
        if not spec and sum(1 + len(m.together) for m in taken) < SET_MIN:
            plain += [(row.id, row.step, row.node, way, to, now, detail, tick_id) for move in taken for row in move.instances]
            continue
        columns = {"instance": F("id"), "step": F("step"), "node": F("node"), "way": Value(way), "to_node": Value(to),
                   "at": Value(now, output_field=DateTimeField()),
                   "detail": JSONObject(key=spec.key_sql()) if spec else Value(detail, output_field=JSONField()),
                   "tick": Cast(Value(tick_id), IntegerField())}
        for chunk in _chunks([row.id for move in taken for row in move.instances], SET_CHUNK):
            rows_insert_select(InstanceStep, Instance.objects.filter(id__in=listed(chunk)), columns)
    rows_insert(InstanceStep, STEP_COLUMNS, plain)


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
SET_CHUNK = 20_000  # ids a statement names (in one parameter: `listed`)
SET_MIN = 20  # fewer history rows than this taking one way are written from Python


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
