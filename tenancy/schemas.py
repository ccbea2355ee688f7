from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from tenancy.roles import Role


class TenantOut(Schema):
    slug: str
    name: str
    role: str


class MeOut(Schema):
    principal: str
    kind: str
    tenant: TenantOut
    tenants: list[TenantOut]


class ApiKeyIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    role: Role = Role.VIEWER


class WriteKeyIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    allowed_origins: list[str] = Field([], max_length=50, description="Browser origins (https://shop.example) that may send with "
                                                                     "this key; empty: any. Servers, which send no Origin, are not limited.")


class KeyOut(Schema):
    id: int
    name: str
    prefix: str = Field(..., description="The public start of the key, enough to recognise it.")
    role: str | None = None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class KeyCreatedOut(KeyOut):
    secret: str = Field(..., description="The whole key. Shown this once; only its hash is stored.")


class MemberIn(Schema):
    email: str = Field(..., min_length=3, max_length=254)
    role: Role = Role.VIEWER


class MemberPatch(Schema):
    role: Role


class MemberOut(Schema):
    id: int
    email: str
    role: str
    created_at: datetime


class MemberAddedOut(MemberOut):
    set_password_url: str | None = Field(None, description="For someone who cannot sign in yet: their one-time link to set a "
                                                           "password (shown once; it expires). Null when they already have one.")
    emailed: bool = Field(False, description="Whether the link was mailed to them (when the site has mail configured).")


class PasswordLinkOut(Schema):
    email: str
    set_password_url: str = Field(..., description="One-time link to set (or reset) the password; shown once, it expires.")
    emailed: bool


class AuditOut(Schema):
    id: int
    actor: str
    action: str
    target: str
    details: dict
    created_at: datetime
    sentence: str = Field("", description="What happened, as a person reads it: \"made ada@example.com editor\".")
