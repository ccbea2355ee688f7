"""What segments hands to other apps and the API: frozen values, never ORM rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SegmentInfo:
    id: int
    name: str
    description: str
    definition: dict
    version: int
    refresh_minutes: int
    members: int
    last_refreshed_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Member:
    cdp_id: str
    entered_at: datetime


@dataclass(frozen=True)
class HistoryDay:
    day: str  # ISO date, UTC
    entered: int
    exited: int
    members: int  # at the end of the day


@dataclass(frozen=True)
class Preview:
    members: int
    sample: list[str]
