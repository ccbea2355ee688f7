"""Cron expressions (minute hour day month weekday) read in a time zone: a campaign's recurring
send and a journey's scheduled entry share these, so both read a schedule the same way."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError


def cron_problem(expression: str) -> str:
    """What is wrong with the expression ("" when nothing)."""
    try:
        CronSim(expression, datetime(2026, 1, 1))
    except (CronSimError, ValueError) as exc:
        return f"not a cron expression: {exc}"
    return ""


def cron_next(expression: str, after: datetime, zone: ZoneInfo) -> datetime:
    """The first moment after `after` the expression names, read in `zone` (09:00 stays 09:00
    across DST), in `after`'s time zone."""
    local = after.astimezone(zone).replace(second=0, microsecond=0)
    return next(iter(CronSim(expression, local))).astimezone(after.tzinfo)


def cron_latest(expression: str, after: datetime, until: datetime, zone: ZoneInfo) -> datetime | None:
    """The last moment in (after, until] the expression names, or None: what a scheduler that
    was away catches up on (once, not every missed moment)."""
    latest, moment = None, cron_next(expression, after, zone)
    while moment <= until:
        latest, moment = moment, cron_next(expression, moment, zone)
    return latest
