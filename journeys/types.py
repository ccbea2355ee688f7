"""What journeys hands to other apps and the API: frozen values, never ORM rows."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class JourneyInfo:
    id: int
    name: str
    description: str
    status: str
    version: int
    live_version: int | None
    definition: dict  # the newest version's
    created_by: str
    created_at: datetime
    updated_at: datetime
    counts: dict = field(default_factory=dict)  # instances by status


@dataclass(frozen=True)
class VersionInfo:
    version: int
    definition: dict
    created_by: str
    created_at: datetime
    published_at: datetime | None
    published_by: str
    migration: dict


@dataclass(frozen=True)
class StepInfo:
    step: int
    node: str
    way: str
    to_node: str
    at: datetime
    detail: dict


@dataclass(frozen=True)
class InstanceInfo:
    instance_id: str
    journey_id: int
    version: int
    cdp_id: str
    key: str
    node: str
    status: str
    step: int
    entered_at: datetime
    arrived_at: datetime
    due_at: datetime | None
    ended_at: datetime | None
    end_reason: str
    converted_at: datetime | None
    context: dict
    steps: list[StepInfo] = field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    severity: str = "error"  # or warning: publishing goes ahead


@dataclass(frozen=True)
class TickSummary:
    tick_id: int | None
    clock: datetime
    counts: dict
    busy: bool = False  # another tick held the lease
