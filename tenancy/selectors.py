"""Reads for tenants, members, keys and the audit log; they return frozen values."""
from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from kernel.errors import NotFound
from tenancy.audit_text import audit_sentence
from tenancy.models import ApiKey, AuditEntry, IssuedKey, Membership, Tenant, WriteKey
from tenancy.roles import Role
from tenancy.types import AuditInfo, IssuedKeyInfo, MemberInfo, Principal, TenantRef


def tenant_ref(tenant: Tenant) -> TenantRef:
    return TenantRef(id=tenant.id, slug=tenant.slug, name=tenant.name, time_zone=tenant.time_zone or settings.TIME_ZONE)


def tenant_own_time_zone(*, tenant: TenantRef) -> str:
    """The zone the tenant chose, or "" when it follows the site's CDP_TIME_ZONE."""
    return Tenant.objects.filter(id=tenant.id).values_list("time_zone", flat=True).first() or ""


def tenant_ref_by_id(tenant_id: int) -> TenantRef:
    """The tenant of a stored row (a run, a batch), which keeps its integer key."""
    return tenant_ref(Tenant.objects.get(id=tenant_id))


def tenants_by_id(tenant_ids) -> dict[int, TenantRef]:
    return {tenant.id: tenant_ref(tenant) for tenant in Tenant.objects.filter(id__in=set(tenant_ids))}


def tenant_list() -> list[TenantRef]:
    """Every tenant, by slug (for commands and jobs that work tenant by tenant)."""
    return [tenant_ref(tenant) for tenant in Tenant.objects.order_by("slug")]


def tenant_get(*, slug: str) -> TenantRef:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise NotFound(f"No tenant '{slug}'.")
    return tenant_ref(tenant)


def tenants_for(principal: Principal) -> list[tuple[TenantRef, str]]:
    """The tenants a principal may act in, with its role in each, by slug."""
    if principal.is_superuser:
        return [(tenant_ref(t), Role.ADMIN) for t in Tenant.objects.order_by("slug")]
    tenants = Tenant.objects.filter(id__in=principal.roles).order_by("slug")
    return [(tenant_ref(t), principal.roles[t.id]) for t in tenants]


def user_principal(user) -> Principal:
    roles = dict(Membership.objects.filter(user=user).values_list("tenant_id", "role"))
    return Principal(kind="user", label=f"user:{user.username}", roles=roles, user_id=user.id, is_superuser=user.is_superuser)


def key_info(key: IssuedKey) -> IssuedKeyInfo:
    return IssuedKeyInfo(
        id=key.id, name=key.name, key_id=key.key_id, prefix=f"{key.PREFIX}{key.key_id}",
        role=getattr(key, "role", None), created_by=key.created_by, created_at=key.created_at,
        last_used_at=key.last_used_at, revoked_at=key.revoked_at,
    )


def member_info(membership: Membership) -> MemberInfo:
    return MemberInfo(id=membership.id, email=membership.user.username, role=membership.role, created_at=membership.created_at)


def api_key_list(*, tenant: TenantRef) -> QuerySet:
    return ApiKey.objects.filter(tenant_id=tenant.id)


def write_key_list(*, tenant: TenantRef) -> QuerySet:
    return WriteKey.objects.filter(tenant_id=tenant.id)


def member_list(*, tenant: TenantRef) -> QuerySet:
    return Membership.objects.filter(tenant_id=tenant.id).select_related("user").order_by("user__username")


def audit_list(*, tenant: TenantRef) -> QuerySet:
    return AuditEntry.objects.filter(tenant_id=tenant.id)


def audit_info(entry: AuditEntry) -> AuditInfo:
    return AuditInfo(id=entry.id, actor=entry.actor, action=entry.action, target=entry.target, details=entry.details, created_at=entry.created_at,
                     sentence=audit_sentence(entry.action, entry.target, entry.details))


def member_get(*, tenant: TenantRef, member_id: int) -> MemberInfo:
    membership = member_list(tenant=tenant).filter(id=member_id).first()
    if membership is None:
        raise NotFound(f"No member {member_id} in this tenant.")
    return member_info(membership)


def user_exists(*, email: str) -> bool:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username=email.strip().lower()).exists()


def member_by_email(*, tenant: TenantRef, email: str) -> MemberInfo:
    membership = member_list(tenant=tenant).filter(user__username=email.strip().lower()).first()
    if membership is None:
        raise NotFound(f"{email} is not a member of {tenant.slug}.")
    return member_info(membership)


def write_key_tenant(*, write_key: str) -> TenantRef | None:
    """The tenant of a live write key, or None (for the SDK settings endpoints, which carry the key in the URL)."""
    from tenancy.keycache import key_lookup  # keycache reads these selectors: imported here, not at the top

    known = key_lookup(write_key) if write_key.startswith(WriteKey.PREFIX) else None
    return known.tenant if known is not None else None
