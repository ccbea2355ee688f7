"""The demo tenant `make run` loads: idempotent, safe to run on every start."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from tenancy import services
from tenancy.roles import Role

DEMO_TENANTS = [("demo", "Demo Store"), ("sandbox", "Sandbox")]
DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_DATA_TENANT = "demo"  # the sandbox tenant stays empty, for trying things from scratch


@dataclass(frozen=True)
class DemoResult:
    admin_email: str
    admin_password: str | None  # only when the admin was created by this run
    tenants: list[str]


@transaction.atomic
def demo_load(*, admin_email: str = DEMO_ADMIN_EMAIL, admin_password: str = "") -> DemoResult:
    """Demo tenants and an admin in each (a superuser when new); the password is set only when the admin is new."""
    tenants = [services.tenant_get_or_create(slug=slug, name=name, actor="demo") for slug, name in DEMO_TENANTS]
    is_new = not get_user_model().objects.filter(username=admin_email).exists()
    password = (admin_password or secrets.token_urlsafe(12)) if is_new else None
    for tenant in tenants:
        services.member_set(tenant=tenant, email=admin_email, role=Role.ADMIN, actor="demo", password=password)
    if is_new:  # the local install's operator: sees the platform-wide Operations view
        services.platform_operator_grant(email=admin_email, actor="demo")
    return DemoResult(admin_email=admin_email, admin_password=password, tenants=[t.slug for t in tenants])
