"""What campaigns hands to other apps and the API: frozen values, never ORM rows."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RunInfo:
    number: int
    phase: str
    scheduled_for: datetime
    started_at: datetime
    test_ends_at: datetime | None
    winner: str
    decision: dict
    completed_at: datetime | None
    counts: dict[str, int]  # recipients by status


@dataclass(frozen=True)
class CampaignInfo:
    id: int
    name: str
    description: str
    status: str
    status_reason: str
    definition: dict
    next_run_at: datetime | None
    approval_requested_by: str
    approved_by: str
    approved_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    runs: list[RunInfo] = field(default_factory=list)


@dataclass(frozen=True)
class RecipientInfo:
    run: int
    cdp_id: str
    address: str
    group: str
    seed: bool
    test: bool
    send_at: datetime
    status: str
    queued_at: datetime | None
    delivery_key: str
