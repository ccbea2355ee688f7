"""When a campaign's sends start, and when each recipient's message is due.

- now: at once; at: at that moment; cron: at each of the expression's moments, read in its time
  zone (else the tenant's), so "0 9 * * 1" stays 09:00 local across daylight-saving changes.
- local: at `time` on `date` in each customer's own time zone (their `timezone` trait, else the
  tenant's). The send starts when the first zone on Earth (UTC+14) reaches that time, and each
  recipient is due at their own moment; a local time that a DST change skips is sent at the
  moment the clocks jump to (Python's zoneinfo, fold 0).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from campaigns.definition import Definition, cron_next, local_time
from kernel.timezones import tenant_zone, zone_named
from tenancy.types import TenantRef

EARLIEST_OFFSET = timedelta(hours=14)  # Kiribati's Line Islands, the first zone to reach a local time


def first_run_at(tenant: TenantRef, spec: Definition, now: datetime) -> datetime | None:
    """The first send's start, or None when the schedule has nothing left (a past moment)."""
    schedule = spec.schedule
    if schedule.type == "now":
        return now
    if schedule.type == "at":
        return schedule.at.astimezone(UTC) if schedule.at >= now - timedelta(minutes=5) else None
    if schedule.type == "local":
        start = local_start(spec)
        return start if start + timedelta(hours=26) >= now else None  # the last zone (UTC-12) still to come
    return cron_next(schedule, now - timedelta(seconds=1), cron_zone(tenant, spec))


def next_run_at(tenant: TenantRef, spec: Definition, after: datetime) -> datetime | None:
    """The start after one that has just been sent: only recurring campaigns have one."""
    if spec.schedule.type != "cron":
        return None
    return cron_next(spec.schedule, after, cron_zone(tenant, spec))


def cron_zone(tenant: TenantRef, spec: Definition) -> ZoneInfo:
    return zone_named(spec.schedule.timezone) if spec.schedule.timezone else tenant_zone(tenant)


def local_start(spec: Definition) -> datetime:
    return datetime.combine(spec.schedule.date, local_time(spec.schedule), tzinfo=UTC) - EARLIEST_OFFSET


def local_send_at(spec: Definition, zone: ZoneInfo) -> datetime:
    return datetime.combine(spec.schedule.date, local_time(spec.schedule), tzinfo=zone).astimezone(UTC)


