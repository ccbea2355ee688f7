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
