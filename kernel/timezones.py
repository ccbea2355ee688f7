"""A tenant's time zone as a tzinfo (tenancy stores its IANA name on the tenant)."""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings


def zone_named(name: str | None) -> ZoneInfo:
    """The zone of that name; the site's CDP_TIME_ZONE when it is empty or unknown (a zone
    removed from tzdata since it was chosen)."""
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def tenant_zone(tenant) -> ZoneInfo:
    """Any value with a `time_zone` attribute (a TenantRef)."""
    return zone_named(getattr(tenant, "time_zone", None))


def zone_or(value, fallback: ZoneInfo) -> ZoneInfo:
    """A customer's `timezone` trait (any value: traits are free-form) as a zone, else the
    fallback (the tenant's). The one rule for messaging's quiet hours, journeys' local waits
    and campaigns' local-time sends."""
    if isinstance(value, str) and value:
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return fallback
