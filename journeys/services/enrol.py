"""Entering a journey: who may (re-entry, concurrency, entry limits), who is held out, and the
instances made, a batch at a time. Each entrant carries a reference to what enrolled it (the
entry call's message id, the segment change, the enrolment request) and an instance is made at
most once per reference and journey (a unique constraint), so reading a change log again after
a crash, or an API call repeated, enrols nobody twice.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction

from journeys.graph import Flow
from journeys.models import Instance, InstanceStep, Journey
from journeys.services.moves import arrival_due
from lakehouse.functions import bucket
from tenancy.types import TenantRef


@dataclass(frozen=True)
class Entrant:
    cdp_id: str
    ref: str
    key: str = ""
    context: dict = field(default_factory=dict)


def held_out(tenant: TenantRef, journey_id: int, cdp_id: str, percent: float) -> bool:
    """The journey's holdout: a stable share of customers, by a hash of tenant, journey and customer."""
    return percent > 0 and bucket(f"{tenant.slug}:journey:{journey_id}:holdout:{cdp_id}") < round(percent * 100)


def instance_id_for(journey_id: int, ref: str) -> str:
    """An instance's id, from what it is unique by (journey, entry reference): the same entrant
    gets the same id, and so the same random split, in a run, its replay and its backtest."""
    return "ji_" + hashlib.blake2b(f"{journey_id}:{ref}".encode(), digest_size=16).hexdigest()


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def entrants_enrol(*, tenant: TenantRef, journey: Journey, flow: Flow, entrants: list[Entrant], now: datetime,
                   tick_id: int | None = None) -> dict:
    """Make the instances these entrants may have; returns counts (enrolled, held_out, and each
    reason someone was not enrolled). The caller's transaction commits them with its watermark."""
    counts = {"enrolled": 0, "held_out": 0}
    if not entrants:
        return counts
    spec = flow.spec
    cdp_ids = sorted({e.cdp_id for e in entrants})
    history: dict[str, list[tuple[str, str, datetime]]] = {}
    for chunk in _chunks(cdp_ids):
        for cdp_id, key, status, entered in Instance.objects.filter(journey=journey, cdp_id__in=chunk).values_list(
                "cdp_id", "key", "status", "entered_at"):
            history.setdefault(cdp_id, []).append((key, status, entered))
    seen = set()
    for chunk in _chunks(sorted({e.ref for e in entrants})):
        seen.update(Instance.objects.filter(journey=journey, entry_ref__in=chunk).values_list("entry_ref", flat=True))
    total = Instance.objects.filter(journey=journey).count() if spec.limits.entries_total else 0
    last_hour = Instance.objects.filter(journey=journey, entered_at__gt=now - timedelta(hours=1)).count() \
        if spec.limits.entries_per_hour else 0
    rows, steps = [], []
    for entrant in entrants:
        reason = _refusal(spec, flow, entrant, history.get(entrant.cdp_id, []), seen, total, last_hour, now)
        if reason:
            counts[reason] = counts.get(reason, 0) + 1
            continue
        seen.add(entrant.ref)
        total, last_hour = total + 1, last_hour + 1
        holdout = held_out(tenant, journey.id, entrant.cdp_id, spec.holdout_percent)
        history.setdefault(entrant.cdp_id, []).append((entrant.key, "holdout" if holdout else "active", now))
        instance_id = instance_id_for(journey.id, entrant.ref)
        row = Instance(tenant_id=tenant.id, journey=journey, version=flow.version, instance_id=instance_id, cdp_id=entrant.cdp_id,
                       key=entrant.key, entry_ref=entrant.ref, node=spec.start, status="holdout" if holdout else "active", step=1,
                       entered_at=now, arrived_at=now, due_at=None if holdout else arrival_due(flow, spec.start, now),
                       context={"entry": entrant.context, "vars": {}}, bucket=bucket(instance_id), holdout=holdout)
        rows.append(row)
        steps.append(InstanceStep(instance=row, step=0, node="", way="holdout" if holdout else "entry", to_node=spec.start, at=now,
                                  detail={"ref": entrant.ref, **({"key": entrant.key} if entrant.key else {})}, tick=tick_id))
        counts["held_out" if holdout else "enrolled"] += 1
    with transaction.atomic():
        Instance.objects.bulk_create(rows, batch_size=500)
        InstanceStep.objects.bulk_create(steps, batch_size=1000)
    return counts


def _refusal(spec, flow: Flow, entrant: Entrant, past: list[tuple[str, str, datetime]], seen: set, total: int, last_hour: int,
             now: datetime) -> str:
    """Why this entrant may not enter now ("" when it may)."""
    if entrant.ref in seen:
        return "duplicate"
    if flow.keyed and not entrant.key:
        return "no_key"
    live = [(key, status) for key, status, _ in past if status in Instance.LIVE]
    if flow.keyed:
        if any(key == entrant.key for key, _ in live):
            return "already_in"
    elif len(live) >= spec.limits.max_concurrent:
        return "already_in"
    policy = spec.reentry
    same = [entered for key, _, entered in past if not flow.keyed or key == entrant.key]
    if same and policy.policy == "once":
        return "entered_before"
    if same and policy.policy == "after" and max(same) > now - timedelta(days=policy.after_days):
        return "entered_recently"
    if spec.limits.entries_total and total >= spec.limits.entries_total:
        return "entry_limit"
    if spec.limits.entries_per_hour and last_hour >= spec.limits.entries_per_hour:
        return "hourly_limit"
    return ""
