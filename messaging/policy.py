"""Marketing limits decided at send time: frequency caps and quiet hours (SendPolicy).

Caps count the customer's marketing messages of a channel kind sent in a rolling window
(`sent_at`), whatever sent them, so a journey and a campaign share them. Quiet hours are read in
the customer's time zone (an IANA `timezone` trait) or else the tenant's; a window may run past
midnight (21:00-08:00), its day is the day it starts on. Defer moves the send to the window's end;
drop skips it. The global control group (a stable share of customers) receives no marketing
message at all. Transactional messages are exempt from all three."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from kernel.timezones import tenant_zone, zone_or
from lakehouse.functions import bucket
from messaging.models import Delivery, SendPolicy

SENT = ("sent", "delivered", "opened", "clicked", "bounced", "complained")


@dataclass(frozen=True)
class Hold:
    """Not now: skipped (`until` None) or deferred until a time."""
    reason: str
    until: datetime | None = None


def customer_zone(profile, tenant) -> ZoneInfo:
    value = next((trait.value for trait in profile.traits if trait.key == "timezone"), None)
    return zone_or(value, tenant_zone(tenant))


def quiet_until(policy: SendPolicy, local: datetime) -> datetime | None:
    """When the quiet hours that `local` (an aware local time) falls in end; None when it is not in any."""
    if not policy.quiet_days or policy.quiet_start is None or policy.quiet_end is None:
        return None
    start, end = policy.quiet_start, policy.quiet_end
    for days_back in (0, 1):  # a window that started yesterday evening may still run
        day = (local - timedelta(days=days_back)).date()
        if day.weekday() not in policy.quiet_days:
            continue
        opens = datetime.combine(day, start, tzinfo=local.tzinfo)
        closes = datetime.combine(day if end > start else day + timedelta(days=1), end, tzinfo=local.tzinfo)
        if opens <= local < closes:
            return closes
    return None


def in_control_group(tenant, cdp_id: str, percent: float) -> bool:
    """Whether a customer is in the tenant's global control group (`percent` of customers, by a
    stable hash of tenant and customer: the same people whoever asks, journeys or campaigns)."""
    return percent > 0 and bucket(f"{tenant.slug}:control:{cdp_id}") < round(percent * 100)


def marketing_hold(*, tenant, row: Delivery, kind: str, profile, now: datetime) -> Hold | None:
    policy = SendPolicy.objects.filter(tenant_id=tenant.id).first()
    if policy is None:
        return None
    if in_control_group(tenant, row.cdp_id, policy.control_percent):
        return Hold(reason="in the global control group (no marketing messages)")
    for cap in policy.caps:
        if cap.get("channel_kind") not in (kind, "*"):
            continue
        since = now - timedelta(days=float(cap["days"]))
        sent = (Delivery.objects.filter(tenant_id=tenant.id, cdp_id=row.cdp_id, category="marketing", status__in=SENT,
                                        sent_at__gte=since, channel__kind=kind).exclude(id=row.id).count())
        if sent >= int(cap["max"]):
            return Hold(reason=f"capped: {sent} marketing {kind} messages in {cap['days']:g} days (at most {cap['max']})")
    zone = customer_zone(profile, tenant)
    until = quiet_until(policy, now.astimezone(zone))
    if until is not None:
        if policy.quiet_policy == "drop":
            return Hold(reason=f"quiet hours ({zone.key})")
        return Hold(reason=f"quiet hours until {until:%H:%M} {zone.key}", until=until)
    return None
