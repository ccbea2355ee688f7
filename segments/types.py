"""What segments hands to other apps and the API: frozen values, never ORM rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SegmentInfo:
    id: int
    name: str
    description: str
    kind: str
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


@dataclass(frozen=True)
class ListEdit:
    """What a manual list's edit did."""
    added: int
    removed: int
    members: int
    unknown: list[str]  # identifiers that resolve to nobody (the first 20)
    unknown_count: int


@dataclass(frozen=True)
class MemberRef:
    """A customer named for a manual list: by cdp_id, or by an identifier (type and value)."""
    cdp_id: str = ""
    id_type: str = ""
    value: str = ""
