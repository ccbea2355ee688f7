"""Reading times sent by clients: ISO 8601, always answered in UTC."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (Z or offset; no offset means UTC), or None when it is not a time."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is UTC:  # "Z" or "+00:00", what SDKs send
            return parsed
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved past the calendar by its offset
        return None


def api_time(value: datetime) -> str:
    """The API's one timestamp format: RFC 3339 in UTC with `Z`, to the second, with six fraction
    digits when the time has a fraction ("2026-03-01T10:00:00Z", "2026-03-01T10:00:00.250000Z"):
    what msgspec writes for the hot reads (kernel/responses.py), so every endpoint agrees."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def command_clock(at: str | None) -> datetime | None:
    """A command's `--at` (an ISO time with its zone) as the clock it decides at; None for now.
    Raises django's CommandError saying what to type."""
    from django.core.management.base import CommandError

    if not at:
        return None
    try:
        now = datetime.fromisoformat(at)
    except ValueError:
        raise CommandError(f"--at {at!r} is not an ISO time such as 2026-12-01T10:00:00+00:00.") from None
    if now.tzinfo is None:
        raise CommandError("--at needs a time zone, such as +00:00.")
    return now
