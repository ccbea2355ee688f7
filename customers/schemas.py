from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema


class CustomerSummaryOut(Schema):
    cdp_id: str
    email: str | None
    name: str | None
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    identifiers: int


class TraitOut(Schema):
    key: str
    value: Any = Field(description="The value as it was written: a string, number, boolean, array, object or null.")
    type: str = Field(description="The value's JSON type: string, number, boolean, array, object or null.")
    number_value: float | None
    updated_at: datetime
    source: str | None


class IdentityOut(Schema):
    type: str
    value: str
    first_seen_at: datetime
    last_seen_at: datetime


class ConsentOut(Schema):
    channel: str
    purpose: str
    granted: bool
    updated_at: datetime
    source: str | None


class CustomerOut(Schema):
    cdp_id: str
    first_seen_at: datetime | None
    suppressed: bool
    traits: list[TraitOut]
    computed_traits: list[TraitOut]
    identities: list[IdentityOut]
    consents: list[ConsentOut]


class ProfileChangeOut(Schema):
    change_id: str
    key: str
    value: Any = Field(description="The new value (null for an unset).")
    action: str = Field(description="set or unset")
    source: str
    actor: str | None = Field(description="The operator who made it (api and console edits).")
    event_time: datetime
    changed_at: datetime


class CustomerEventOut(Schema):
    message_id: str
    type: str
    event: str | None
    event_time: datetime
    received_at: datetime
    properties: dict[str, Any]
    context: dict[str, Any]


class CustomerIn(Schema):
    """At least one identifier: user_id, anonymous_id, email, phone (also as traits.email /
    traits.phone), or any other type the tenant's identity rules know, in `identifiers`."""

    user_id: str | None = Field(None, max_length=255)
    anonymous_id: str | None = Field(None, max_length=255)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=64)
    identifiers: dict[str, str] = Field(default_factory=dict, max_length=20,
                                        description='Other identifier types by name: {"device_id": "d-1", "crm_id": "C-42"} '
                                                    "(custom types as the tenant's rules define them).")
    traits: dict[str, Any] = Field(default_factory=dict)


class CustomerPatch(Schema):
    set: dict[str, Any] = Field(default_factory=dict, description="Traits to set.")
    unset: list[str] = Field(default_factory=list, description="Trait keys to remove.")


class ConsentIn(Schema):
    channel: str = Field(..., min_length=1, max_length=32, description="email, sms, push, webhook ... or * for all.")
    purpose: str = Field(..., min_length=1, max_length=64, description="marketing, analytics, transactional ...")
    granted: bool


class EraseOut(Schema):
    cdp_id: str
    erased: bool
    identifiers: int
    tables: list[str]


class ComputedTraitIn(Schema):
    name: str = Field(..., max_length=64, description="The trait key on profiles, e.g. orders_30d (lower-case, digits, _).")
    description: str = Field("", max_length=500)
    aggregation: str = Field(..., description="count, sum, min, max, first, last or distinct_count.")
    event: str = Field("", max_length=200, description="Only events with this name (track event, page or screen name); empty: any.")
    event_type: str = Field("", max_length=16, description="Only calls of this type (track, page, screen, identify ...); empty: any.")
    property: str = Field("", max_length=200, description="The event property, e.g. revenue or item.price. Needed by sum, min, max, "
                          "distinct_count; first/last without it give the event's time.")
    window_days: int | None = Field(None, description="Rolling window in days; null for all time.")


class ComputedTraitPatch(Schema):
    name: str | None = Field(None, max_length=64)
    description: str | None = Field(None, max_length=500)
    aggregation: str | None = None
    event: str | None = Field(None, max_length=200)
    event_type: str | None = Field(None, max_length=16)
    property: str | None = Field(None, max_length=200)
    window_days: int | None = None


class ComputedTraitOut(Schema):
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
    state: str = Field(description="queued, running (computing for everyone), ready or failed; poll GET /{id} after a change.")
    error: str = ""