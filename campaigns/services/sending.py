"""Sending a campaign: the tick starts due sends (the audience snapshot) and pumps running ones
into messaging's outbox, within the throttle, then picks winners and completes sends.

Crash safety, by construction:
- a send starts in one transaction that moves the campaign from `scheduled` to `running` only if
  it is still scheduled for that moment (compare and set) and writes the whole snapshot; a tick
  killed inside it leaves nothing, and two ticks at once start it once;
- each pump batch queues its recipients' deliveries and marks them `queued` in one transaction,
  under keys (`campaigns.selectors.delivery_key`) the outbox keeps once; a tick killed between
  batches resumes with the next pending recipient, and none is queued twice.
So a killed and restarted send gives each recipient one delivery, and the drain one send per
delivery id (messaging's guarantee). Everything takes `now`, so tests drive it with a clock.
"""
from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Case, CharField, DateTimeField, ExpressionWrapper, F, Max, Value, When
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from campaigns.audience import audience_of
from campaigns.definition import Definition, parsed
from campaigns.goals import conversions
from campaigns.models import Campaign, Recipient, Run, Watermark
from campaigns.selectors import delivery_key, delivery_key_prefix
from campaigns.services.campaigns import source_of
from campaigns.services.schedule import local_send_at, next_run_at
from customers.selectors import erased_customers, traits_of_customers
from kernel.bulk import rows_insert
from kernel.timezones import tenant_zone, zone_or
from messaging.selectors import delivery_outcomes, outcome_counts, quiet_hours_hold, quiet_zones, recent_outcomes
from messaging.services.outbox import deliveries_enqueue_query, deliveries_hold
from messaging.types import SendShape
from tenancy.selectors import tenants_by_id
from tenancy.services import audit_record
from tenancy.types import TenantRef

logger = logging.getLogger("cdp.campaigns")

BATCH = 20_000  # recipients queued a transaction (each commit and each queueing statement costs: 2,000 a batch spent a quarter of a send's queueing on them, 5,000 a tenth)
PUMP_SECONDS = 40.0  # a tick stops starting batches after this (inside the every-minute schedule)
RECIPIENT_COLUMNS = ("run", "tenant_id", "cdp_id", "address", "group", "seed", "test", "send_at", "zone", "status", "queued_at")
SENT = ("sent", "delivered", "opened", "clicked", "bounced", "complained")
FAILED = ("failed", "bounced")
FINISHED = (*SENT, "failed")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def campaigns_tick(*, now: datetime | None = None, clock=None) -> dict[str, int]:
    """Follow erasures, start the sends that are due, pump the running ones. Returns counts."""
    now = now or timezone.now()
    counts = {"erased": recipients_follow_erasures(), "started": 0, "queued": 0, "completed": 0}
    for row in Campaign.objects.filter(status="scheduled", next_run_at__lte=now).order_by("next_run_at", "id"):
        counts["started"] += run_start(row.id, now=now) is not None
    for run_id in Run.objects.filter(phase__in=("sending", "testing"), campaign__status="running").values_list("id", flat=True):
        queued, completed = run_advance(run_id, now=now, clock=clock)
        counts["queued"] += queued
        counts["completed"] += completed
    return counts


def run_start(campaign_id: int, *, now: datetime) -> Run | None:
    """Take the audience of a due campaign once and start its send; None when another tick did."""
    row = Campaign.objects.get(id=campaign_id)
    tenant = tenants_by_id({row.tenant_id})[row.tenant_id]
    spec = parsed(row.definition)
    scheduled_for = row.next_run_at
    audience = audience_of(tenant=tenant, spec=spec, campaign_id=row.id, now=now)  # lakehouse reads, before the transaction
    cdp_ids = [m.cdp_id for m in audience.members]
    paced = spec.category == "marketing" and quiet_hours_hold(tenant=tenant)  # the pump keeps recipients out of their quiet hours
    zones = _zones(tenant, cdp_ids) if spec.schedule.type == "local" or paced else {}
    send_at = _send_times(spec, zones, scheduled_for)
    with transaction.atomic():
        if not Campaign.objects.filter(id=row.id, status="scheduled", next_run_at=scheduled_for).update(status="running", next_run_at=None):
            return None
        number = (Run.objects.filter(campaign=row).aggregate(n=Max("number"))["n"] or 0) + 1
        run = Run.objects.create(campaign=row, number=number, phase="testing" if spec.winner else "sending", scheduled_for=scheduled_for,
                                 started_at=now, definition=row.definition)
        rows = [(run.id, tenant.id, m.cdp_id, m.address, m.group, False, m.test, send_at.get(m.cdp_id, scheduled_for),
                 zones[m.cdp_id].key if zones else "", "none" if m.group in ("no_address", "duplicate", "control", "holdout") else ("waiting" if m.group == "" else "pending"), None)
                for m in audience.members]
        rows += [(run.id, tenant.id, "", address.strip(), variant.key, True, False, scheduled_for, "", "pending", None)
                 for variant in spec.variants for address in dict.fromkeys(spec.seeds)]
        rows_insert(Recipient, RECIPIENT_COLUMNS, rows)
        if spec.winner:
            last = max((t for m, t in ((m, send_at.get(m.cdp_id, scheduled_for)) for m in audience.members) if m.test), default=scheduled_for)
            run.test_ends_at = last + spec.winner.wait.delta
            run.save(update_fields=["test_ends_at"])
    audit_record(tenant=tenant, actor="campaigns", action="campaign.send", target=row.name,
                 details={"id": row.id, "run": number, **{k: v for k, v in audience.counts().items() if k != "variants"}})
    return run


def _zones(tenant: TenantRef, cdp_ids: list[str]) -> dict[str, ZoneInfo]:
    """Each customer's time zone (their `timezone` trait, else the tenant's)."""
    fallback = tenant_zone(tenant)
    traits = traits_of_customers(tenant=tenant, cdp_ids=cdp_ids, keys=["timezone"])
    return {c: zone_or(traits.get(c, {}).get("timezone", (None, None))[0], fallback) for c in cdp_ids}


def _send_times(spec: Definition, zones: dict[str, ZoneInfo], scheduled_for: datetime) -> dict[str, datetime]:
    """Each recipient's moment: their own local time for a local-time send, else the send's."""
    if spec.schedule.type != "local":
        return {}
    by_zone = {}  # one computation a zone, not one a customer
    out = {}
    for cdp_id, zone in zones.items():
        if zone.key not in by_zone:
            by_zone[zone.key] = local_send_at(spec, zone)
        out[cdp_id] = by_zone[zone.key]
    return out


def run_advance(run_id: int, *, now: datetime, clock=None) -> tuple[int, int]:
    """One tick's work on a running send: the error policy, late recipients dropped, due ones
    queued (within the throttle), the winner picked, the send completed. Returns (queued, completed)."""
    clock = clock or time.monotonic
    deadline = clock() + PUMP_SECONDS
    run = Run.objects.select_related("campaign").get(id=run_id)
    tenant = tenants_by_id({run.campaign.tenant_id})[run.campaign.tenant_id]
    spec = parsed(run.definition)
    if _error_policy_tripped(tenant, run, spec):
        return 0, 0
    if spec.max_lateness:
        Recipient.objects.filter(run=run, status="pending", send_at__lt=now - spec.max_lateness.delta).update(status="late")
    if run.phase == "testing" and run.test_ends_at and now >= run.test_ends_at:
        winner_pick(tenant, run.id, spec, now)  # first, so the rest go in this tick
    quiet = _quiet_zones(tenant, run.id, spec, now)
    queued = 0
    while clock() < deadline:
        made = _queue_batch(tenant, run.id, spec, now, quiet)
        queued += made
        if made < BATCH:
            break
    return queued, int(_complete_if_done(tenant, run.id, spec, now))


def _quiet_zones(tenant: TenantRef, run_id: int, spec: Definition, now: datetime) -> list[str]:
    """The zones of this send's pending recipients that are in quiet hours now (once a tick: a
    scan of the pending rows). Queued, their messages would wait in the outbox and leave in one
    burst when quiet hours end, past the throttle; kept here, the throttle paces them then."""
    if spec.category != "marketing" or not quiet_hours_hold(tenant=tenant):
        return []
    zones = set(Recipient.objects.filter(run_id=run_id, status="pending", seed=False).exclude(zone="")
                .values_list("zone", flat=True).distinct())
    return sorted(quiet_zones(tenant=tenant, zones=zones, now=now))


def _queue_batch(tenant: TenantRef, run_id: int, spec: Definition, now: datetime, quiet: list[str]) -> int:
    with transaction.atomic():
        run = Run.objects.select_for_update().select_related("campaign").get(id=run_id)
        if run.campaign.status != "running" or run.phase not in ("sending", "testing"):
            return 0
        budget = BATCH
        if spec.throttle_per_minute:
            minute = now.replace(second=0, microsecond=0)
            budget = min(budget, spec.throttle_per_minute - Recipient.objects.filter(run=run, queued_at__gte=minute).count())
        if budget <= 0:
            return 0
        due = Recipient.objects.filter(run=run, status="pending", send_at__lte=now).order_by("send_at", "id")
        if quiet:
            due = due.exclude(zone__in=quiet, seed=False)
        chosen = due.values("id")[:budget]
        campaign = {"id": run.campaign_id, "name": run.campaign.name, "run": run.number}
        source = source_of(run.campaign_id)
        kinds = [(v, seed) for v in spec.variants for seed in ((False, True) if spec.seeds else (False,))]  # a send's shape: variant, seed or not
        shapes = {f"{v.key}:{seed:d}": SendShape(channel_id=spec.channel_id, template_id=v.template_id, source=source,
                                                  category="transactional" if seed else spec.category, topic="" if seed else spec.topic,
                                                  variables={"campaign": campaign, "variant": v.key, "seed": seed})
                  for v, seed in kinds}
        expires = (ExpressionWrapper(F("send_at") + spec.max_lateness.delta, output_field=DateTimeField()) if spec.max_lateness
                   else Value(None, output_field=DateTimeField()))
        # The outbox rows straight from the recipients (one INSERT ... SELECT) under the keys of
        # `delivery_key`, then the same recipients marked: nothing else writes them meanwhile (the
        # run's row is locked).
        rows = Recipient.objects.filter(id__in=chosen).order_by("send_at", "id").annotate(
            send_key=Concat(Value(delivery_key_prefix(run.campaign_id, run.number)), Cast("id", output_field=CharField())),
            send_cdp_id=F("cdp_id"), send_address=F("address"), send_expires_at=expires,
            send_shape=Case(*[When(group=v.key, seed=seed, then=Value(f"{v.key}:{seed:d}")) for v, seed in kinds], default=Value("")))
        deliveries_enqueue_query(tenant=tenant, rows=rows, shapes=shapes, now=now)
        return Recipient.objects.filter(id__in=chosen).update(status="queued", queued_at=now)


def _error_policy_tripped(tenant: TenantRef, run: Run, spec: Definition) -> bool:
    """Pause the campaign when its sends fail too often (then: pause); True when it did."""
    policy = spec.error_policy
    if policy.then != "pause":
        return False
    source = source_of(run.campaign_id)
    recent = recent_outcomes(tenant=tenant, source=source, limit=policy.max_consecutive_failures)
    why = ""
    if len(recent) == policy.max_consecutive_failures and all(s in FAILED for s in recent):
        why = f"{len(recent)} sends in a row failed"
    else:
        counts = outcome_counts(tenant=tenant, source=source)
        finished = sum(counts.get(s, 0) for s in FINISHED)
        failed = sum(counts.get(s, 0) for s in FAILED)
        if finished >= policy.min_sample and failed * 100 > policy.max_failure_rate * finished:
            why = f"{failed} of {finished} finished sends failed ({failed * 100 / finished:.1f}%, more than {policy.max_failure_rate:g}%)"
    if not why:
        return False
    with transaction.atomic():
        if not Campaign.objects.filter(id=run.campaign_id, status="running").update(
                status="paused", status_reason=f"Paused by the error policy: {why}. Fix the cause (the deliveries' reasons say it), "
                                               "then resume."):
            return True
        deliveries_hold(tenant=tenant, source=source)
    audit_record(tenant=tenant, actor="campaigns", action="campaign.pause", target=run.campaign.name,
                 details={"id": run.campaign_id, "why": why})
    return True


def winner_pick(tenant: TenantRef, run_id: int, spec: Definition, now: datetime) -> str:
    """Pick the variant with the best rate of the metric among its test recipients' messages
    (ties: the first variant), record the rule and figures, and give the rest that variant."""
    run = Run.objects.get(id=run_id)
    tests = list(Recipient.objects.filter(run=run, test=True, seed=False, status="queued").values_list("id", "group", "cdp_id", "queued_at"))
    outcomes = delivery_outcomes(tenant=tenant, source=source_of(run.campaign_id))
    converted = set()
    if spec.winner.metric == "goal":
        converted = conversions(tenant=tenant, goal=spec.goal, starts={(c, at) for _, _, c, at in tests}, until=now)
    figures = {v.key: {"variant": v.key, "sent": 0, "successes": 0} for v in spec.variants}
    for recipient_id, group, cdp_id, queued_at in tests:
        status = outcomes.get(delivery_key(run.campaign_id, run.number, recipient_id), ("", "", None))[0]
        if status not in SENT or group not in figures:
            continue
        figures[group]["sent"] += 1
        figures[group]["successes"] += _success(spec.winner.metric, status, (cdp_id, queued_at) in converted)
    for f in figures.values():
        f["rate"] = f["successes"] / f["sent"] if f["sent"] else 0.0
    order = [v.key for v in spec.variants]
    winner = max(order, key=lambda k: (figures[k]["rate"], -order.index(k)))
    rule = (f"the highest {_metric_name(spec.winner.metric)} rate among the test share's sent messages, "
            f"{spec.winner.wait.delta} after the test sends; a tie goes to the variant listed first")
    with transaction.atomic():
        if not Run.objects.filter(id=run.id, phase="testing").update(phase="sending", winner=winner, decision={
                "metric": spec.winner.metric, "rule": rule, "winner": winner, "decided_at": now.isoformat(),
                "variants": list(figures.values())}):
            return Run.objects.get(id=run.id).winner
        Recipient.objects.filter(run=run, status="waiting").update(group=winner, status="pending")
    audit_record(tenant=tenant, actor="campaigns", action="campaign.winner", target=run.campaign.name,
                 details={"id": run.campaign_id, "run": run.number, "winner": winner})
    return winner


def _success(metric: str, status: str, converted: bool) -> bool:
    if metric == "opened":
        return status in ("opened", "clicked")
    if metric == "clicked":
        return status == "clicked"
    return converted


def _metric_name(metric: str) -> str:
    return {"goal": "conversion", "opened": "open", "clicked": "click"}[metric]


def _complete_if_done(tenant: TenantRef, run_id: int, spec: Definition, now: datetime) -> bool:
    """A send with nothing left to queue completes; a recurring campaign is scheduled again."""
    with transaction.atomic():
        run = Run.objects.select_for_update().select_related("campaign").get(id=run_id)
        if run.phase != "sending" or Recipient.objects.filter(run=run, status__in=("pending", "waiting")).exists():
            return False
        run.phase, run.completed_at = "completed", now
        run.save(update_fields=["phase", "completed_at"])
        following = next_run_at(tenant, parsed(run.campaign.definition), max(now, run.scheduled_for))
        Campaign.objects.filter(id=run.campaign_id, status="running").update(
            status="scheduled" if following else "completed", next_run_at=following)
    return True


def recipients_follow_erasures() -> int:
    """Delete the recipients of customers erased since the last sweep (their ids and addresses
    are personal data kept outside the lakehouse tables erasure reaches by construction)."""
    mark = Watermark.objects.filter(name="erasures").first()
    erased = erased_customers(since=mark.at if mark else EPOCH)
    if not erased:
        return 0
    removed = 0
    with transaction.atomic():
        for tenant_id, cdp_id, _ in erased:
            removed += Recipient.objects.filter(tenant_id=tenant_id, cdp_id=cdp_id).delete()[0]
        Watermark.objects.update_or_create(name="erasures", defaults={"at": erased[-1][2]})
    return removed
