"""What messaging hands to other apps and the API: frozen values, never ORM rows."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ChannelInfo:
    id: int
    name: str
    kind: str
    config: dict
    has_secret: bool
    rotating_until: datetime | None
    rate_per_second: float
    disabled_reason: str
    created_by: str
    created_at: datetime
    secret: str = ""  # the new secret, only in the answer that made it (shown once)
    feedback_url: str = ""  # where the provider sends delivery events (email via a provider, SMS)
    has_feedback_signing_key: bool = False
    feedback_credentials: str = ""  # the basic auth (user:password) that URL takes, shown once like the secret
    endpoint_rate_per_second: float = 0


@dataclass(frozen=True)
class TemplateInfo:
    id: int
    name: str
    channel_kind: str
    version: int
    parts: dict
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Rendered:
    template_id: int
    version: int
    parts: dict


@dataclass(frozen=True)
class SendRequest:
    """What a caller (journeys, campaigns, a test send) asks to be sent, once per `key`."""
    key: str
    channel_id: int
    template_id: int
    cdp_id: str
    category: str = "marketing"
    topic: str = ""
    source: str = "api"
    variables: dict = field(default_factory=dict)
    expires_at: datetime | None = None  # not sent after this (skipped as too late): a campaign's maximum lateness
    address: str = ""  # fixed by the caller (a campaign's deduplicated address, a seed with no cdp_id); else the customer's


@dataclass(frozen=True)
class SendShape:
    """What many sends queued by one query share (`deliveries_enqueue_query`): a SendRequest
    without the key, the customer, the address and the expiry, which each row brings."""
    channel_id: int
    template_id: int
    category: str = "marketing"
    topic: str = ""
    source: str = "api"
    variables: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryInfo:
    id: int
    delivery_id: str
    idempotency_key: str
    channel_id: int
    template_id: int
    template_version: int
    cdp_id: str
    category: str
    topic: str
    source: str
    status: str
    reason: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None
    response: dict
    attempt_log: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class SuppressedAddressInfo:
    id: int
    channel_kind: str
    address: str
    reason: str
    cdp_id: str
    delivery_id: str
    created_at: datetime
