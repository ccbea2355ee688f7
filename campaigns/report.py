"""A campaign's report: per group of its sends (each variant, the holdout, the global control
group, the seeds) the audience, what happened to the messages, and the goal's conversions, with
each variant's lift over the holdout and its 95% interval (Newcombe's, kernel.stats).

Conversions count a goal event within the goal's window after the recipient's message was queued
(for the holdout and the control group, after the moment their message would have gone). Seeds
are internal copies: shown apart, never in a rate. "Unsubscribed" counts sent customers whose
consent to the campaign's topic is now withdrawn.
"""
from __future__ import annotations

from django.utils import timezone

from campaigns.definition import parsed
from campaigns.goals import conversions
from campaigns.models import Recipient
from campaigns.selectors import campaign_row, delivery_key
from campaigns.services.campaigns import source_of
from kernel.stats import difference_interval
from messaging.selectors import channel_kinds, delivery_outcomes
from segments.selectors import definition_holds_for
from tenancy.types import TenantRef

METHOD = "Newcombe's hybrid score interval (method 10) for the difference of two proportions, 95%"
SENT = ("sent", "delivered", "opened", "clicked", "bounced", "complained")


def campaign_report(*, tenant: TenantRef, campaign_id: int, run: int | None = None) -> dict:
    row = campaign_row(tenant, campaign_id)
    spec = parsed(row.definition)
    now = timezone.now()
    recipients = Recipient.objects.filter(run__campaign=row)
    if run is not None:
        recipients = recipients.filter(run__number=run)
    rows = list(recipients.values_list("id", "run__number", "cdp_id", "group", "seed", "status", "send_at", "queued_at").iterator(chunk_size=5000))
    outcomes = delivery_outcomes(tenant=tenant, source=source_of(row.id))
    starts = {(cdp_id, queued_at or send_at) for _, _, cdp_id, group, seed, status, send_at, queued_at in rows
              if not seed and cdp_id and (status == "queued" or group in ("holdout", "control"))}
    converted = conversions(tenant=tenant, goal=spec.goal, starts=starts, until=now) if spec.goal else set()
    unsubscribed = _unsubscribed(tenant, spec, rows, outcomes, row.id, now)
    groups: dict[str, dict] = {}
    for recipient_id, number, cdp_id, group, seed, status, send_at, queued_at in rows:
        name = "seeds" if seed else (group or "waiting")
        g = groups.setdefault(name, _empty(name))
        g["audience"] += 1
        delivered, reason, _ = outcomes.get(delivery_key(row.id, number, recipient_id), ("", "", None)) if status == "queued" else ("", "", None)
        g["sent"] += delivered in SENT
        g["delivered"] += delivered in ("delivered", "opened", "clicked")
        g["failed"] += delivered in ("failed", "bounced")
        g["skipped"] += delivered == "skipped"
        g["late"] += status == "late" or (delivered == "skipped" and reason.startswith("too late"))
        g["opened"] += delivered in ("opened", "clicked")
        g["clicked"] += delivered == "clicked"
        g["unsubscribed"] += cdp_id in unsubscribed and delivered in SENT
        g["converted"] += (cdp_id, queued_at or send_at) in converted
    holdout = groups.get("holdout")
    for g in groups.values():
        g["conversion_rate"] = g["converted"] / g["audience"] if g["audience"] and g["group"] != "seeds" else None
        g["lift"] = g["interval"] = None
    for g in groups.values():
        measured = g["audience"]
        if holdout and g["group"] not in ("holdout", "seeds", "control", "duplicate", "no_address", "waiting") and spec.goal:
            interval = difference_interval(g["converted"], measured, holdout["converted"], holdout["audience"])
            if interval is not None:
                g["lift"] = g["conversion_rate"] - holdout["conversion_rate"]
                g["interval"] = [interval[0], interval[1]]
    order = [v.key for v in spec.variants] + ["waiting", "holdout", "control", "duplicate", "no_address", "seeds"]
    return {"campaign_id": row.id, "run": run, "goal": spec.goal.model_dump() if spec.goal else None, "method": METHOD,
            "groups": sorted(groups.values(), key=lambda g: order.index(g["group"]) if g["group"] in order else len(order)),
            "runs": [{"number": r.number, "winner": r.winner, "decision": r.decision} for r in row.runs.all()]}


def _empty(group: str) -> dict:
    return {"group": group, "audience": 0, "sent": 0, "delivered": 0, "failed": 0, "skipped": 0, "late": 0, "opened": 0, "clicked": 0,
            "unsubscribed": 0, "converted": 0}


def _unsubscribed(tenant: TenantRef, spec, rows, outcomes, campaign_id: int, now) -> set[str]:
    if spec.category != "marketing" or not spec.topic:
        return set()
    kind = channel_kinds(tenant=tenant).get(spec.channel_id, "")
    sent = {cdp_id for recipient_id, number, cdp_id, _, seed, status, _, _ in rows
            if not seed and status == "queued" and outcomes.get(delivery_key(campaign_id, number, recipient_id), ("",))[0] in SENT}
    if not sent or not kind:
        return set()
    return definition_holds_for(tenant=tenant, definition={"type": "consent", "channel": kind, "purpose": spec.topic, "granted": False},
                                cdp_ids=sent, now=now)
