"""What tenancy hands to other apps: small frozen values, never ORM rows."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class TenantRef:
    id: int
    slug: str
    name: str
    time_zone: str = "UTC"  # IANA name: the tenant's own, or the site's CDP_TIME_ZONE


@dataclass(frozen=True)
class Principal:
    """Who is calling. `roles` maps tenant id to the role held there."""

    kind: str  # user | apikey | jwt | writekey
    label: str  # safe to log and audit: never contains a secret
    roles: dict[int, str] = field(default_factory=dict)
    user_id: int | None = None
    is_superuser: bool = False
    tenants: tuple = ()  # (TenantRef, role) pairs when already known (keys), saving a lookup
    origins: tuple[str, ...] = ()  # a write key's allowed browser origins (empty: any)


@dataclass(frozen=True)
class TenantContext:
    """A request's principal, the tenant it selected, and the role it holds there."""

    principal: Principal
    tenant: TenantRef
    role: str

    @property
    def actor(self) -> str:
        return self.principal.label


@dataclass(frozen=True)
class IssuedKeyInfo:
    id: int
    name: str
    key_id: str
    prefix: str
    role: str | None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class MemberInfo:
    id: int
    email: str
    role: str
    created_at: datetime


@dataclass(frozen=True)
class AuditInfo:
    id: int
    actor: str
    action: str
    target: str
    details: dict
    created_at: datetime
    sentence: str = ""  # what happened, as a person reads it (tenancy/audit_text.py)
