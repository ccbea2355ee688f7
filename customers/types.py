"""What the customers app hands out: frozen values, never cursor rows."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class CustomerSummary:
    cdp_id: str
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    identifiers: int
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Trait:
    key: str
    value: Any  # as it was written: a string, number, boolean, array, object or null (see `type`)
    type: str
    number_value: float | None
    updated_at: datetime
    source: str | None


@dataclass(frozen=True)
class ProfileChange:
    change_id: str
    key: str
    value: Any
    action: str
    source: str
    actor: str | None
    event_time: datetime
    changed_at: datetime
    cdp_id: str = ""


@dataclass(frozen=True)
class Identity:
    type: str
    value: str
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class Consent:
    channel: str
    purpose: str
    granted: bool
    updated_at: datetime
    source: str | None


@dataclass(frozen=True)
class CustomerProfile:
    cdp_id: str
    traits: list[Trait]
    identities: list[Identity]
    consents: list[Consent]
    suppressed: bool
    first_seen_at: datetime | None = None
    computed_traits: list[Trait] = field(default_factory=list)


@dataclass(frozen=True)
class CustomerEvent:
    message_id: str
    type: str
    event: str | None
    event_time: datetime
    received_at: datetime
    properties: dict
    context: dict


@dataclass(frozen=True)
class ComputedTraitInfo:
    id: int
    name: str
    description: str
    aggregation: str
    event: str
    event_type: str
    property: str
    window_days: int | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_computed_at: datetime | None
    state: str = "ready"
    error: str = ""


@dataclass(frozen=True)
class ActivityDay:
    day: date
    events: int


@dataclass(frozen=True)
class EventVolume:
    """A tenant's events per local day (oldest first, empty days included) and in the last 24 hours."""

    days: list[tuple[date, int]]
    last_24h: int

    def last(self, n: int) -> int:
        return sum(count for _, count in self.days[-n:])


@dataclass(frozen=True)
class TraitDistribution:
    """How a trait's values spread across customers: `kind` says what `bars` are (number ranges,
    days of a date, or the commonest values), each (label, customers)."""

    key: str
    customers: int
    kind: str  # numbers | days | values | none
    bars: list[tuple[str, int]]
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    latest: datetime | None = None


@dataclass(frozen=True)
class Vocabulary:
    """The names a tenant's data uses: for builders that offer them."""
    events: list[str]
    traits: list[str]
    properties: dict[str, list[str]]  # event -> property names seen on its recent calls
