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
    value: str | None
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


class CustomerEventOut(Schema):
    message_id: str
    type: str
    event: str | None
    event_time: datetime
    received_at: datetime
    properties: dict[str, Any]
    context: dict[str, Any]


class CustomerIn(Schema):
    user_id: str | None = Field(None, max_length=255)
    anonymous_id: str | None = Field(None, max_length=255)
    email: str | None = Field(None, max_length=254)
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
