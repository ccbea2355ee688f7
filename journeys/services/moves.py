"""What a tick decides for an instance, and applying a batch of decisions in one transaction.

Every decision is one of: move on (to a node, by a way, perhaps queuing a send), hold (wait
until a time, or try again later), or end. `moves_apply` writes a whole batch — the steps'
history rows, the sends into messaging's outbox, the instances' new state — in one transaction
of the operational database, so a tick killed at any point has applied a batch entirely or not
at all; the next tick decides the same again (the clock and the state are the same) and the
sends' idempotency keys make a send queued twice one delivery.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from journeys.graph import Flow
from journeys.models import Instance, InstanceStep
from messaging.services.outbox import deliveries_enqueue
from messaging.types import SendRequest
from tenancy.types import TenantRef

UPDATED = ["node", "status", "step", "arrived_at", "due_at", "wait_set", "retries", "context", "ended_at", "end_reason", "converted_at"]


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
    wait_set: bool = False
    retry: bool = False


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
    """Apply decisions (each instance at most once); returns counts."""
    steps, sends, changed = [], [], []
    counts = {"moved": 0, "ended": 0, "queued": 0, "held": 0}
    for move in moves:
        row = move.instance
        if move.hold_until is not None:
            row.due_at, row.wait_set = move.hold_until, move.wait_set
            if move.retry:
                row.retries += 1
            counts["held"] += 1
            changed.append(row)
            continue
        steps.append(InstanceStep(instance=row, step=row.step, node=row.node, way=move.way, to_node=move.to, at=now,
                                  detail={**move.detail, **({"reason": move.reason} if move.reason else {})}, tick=tick_id))
        row.step += 1
        row.retries, row.wait_set = 0, False
        if move.send is not None:
            sends.append(move.send)
        if move.end:
            row.status, row.ended_at, row.end_reason, row.due_at = move.end, now, move.reason[:200], None
            if move.end == "converted":
                row.converted_at = now
            counts["ended"] += 1
        else:
            row.node, row.arrived_at = move.to, now
            row.due_at = arrival_due(flows[(row.journey_id, row.version)], move.to, now)
            counts["moved"] += 1
        changed.append(row)
    with transaction.atomic():
        if sends:
            made, _ = deliveries_enqueue(tenant=tenant, requests=sends, now=now)
            counts["queued"] += made
        InstanceStep.objects.bulk_create(steps, batch_size=1000)
        Instance.objects.bulk_update(changed, UPDATED, batch_size=500)
    return counts
