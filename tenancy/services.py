"""Writes for tenants, members, keys and the audit log. Every change leaves an audit entry."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from datetime import timedelta
from zoneinfo import available_timezones

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tenancy.invitations import SetPasswordLink, set_password_link
from tenancy.models import ApiKey, AuditEntry, IssuedKey, Membership, Tenant, WriteKey
from tenancy.roles import Role
from tenancy.selectors import key_info, member_info, tenant_ref
from tenancy.types import IssuedKeyInfo, MemberInfo, Principal, TenantRef

_KEY_ID_ALPHABET = string.ascii_lowercase + string.digits
_KEY_ID_LENGTH = 8
# Writing last_used_at on every request would turn each read into a write; a minute is precise
# enough to answer "is this key still in use?".
_LAST_USED_PRECISION = timedelta(minutes=1)
ORIGIN = re.compile(r"^https?://[a-z0-9.\-]+(:[0-9]{1,5})?$")  # a browser's Origin header: scheme, host, port


def audit_record(*, tenant: TenantRef | None, actor: str, action: str, target: str = "", details: dict | None = None) -> None:
    AuditEntry.objects.create(
        tenant_id=tenant.id if tenant else None, actor=actor, action=action, target=target, details=details or {}
    )


def tenant_create(*, slug: str, name: str = "", actor: str) -> TenantRef:
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(slug=slug, name=name or slug)
    except IntegrityError:
        raise Conflict(f"A tenant with slug '{slug}' already exists.") from None
    ref = tenant_ref(tenant)
    audit_record(tenant=ref, actor=actor, action="tenant.create", target=slug)
    return ref


def tenant_update(*, tenant: TenantRef, name: str, time_zone: str, actor: str) -> TenantRef:
    """Rename a tenant or set the time zone its console shows times and days in."""
    name = name.strip()
    if not name:
        raise InvalidInput("Give the tenant a name.", errors=[{"field": "name", "message": "must not be empty"}])
    if time_zone and time_zone not in available_timezones():
        raise InvalidInput(f"Unknown time zone '{time_zone}'.", errors=[{"field": "time_zone", "message": "must be an IANA zone such as Europe/Paris"}])
    row = Tenant.objects.get(id=tenant.id)
    changed = {field: value for field, value in (("name", name), ("time_zone", time_zone)) if getattr(row, field) != value}
    if changed:
        Tenant.objects.filter(id=tenant.id).update(**changed)
        audit_record(tenant=tenant, actor=actor, action="tenant.update", target=tenant.slug, details=changed)
    return tenant_ref(Tenant.objects.get(id=tenant.id))


def tenant_get_or_create(*, slug: str, name: str = "", actor: str) -> TenantRef:
    tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    ref = tenant_ref(tenant)
    if created:
        audit_record(tenant=ref, actor=actor, action="tenant.create", target=slug)
    return ref


def _role_checked(role: str) -> str:
    if role not in Role.values:
        raise InvalidInput(f"Unknown role '{role}'.", errors=[{"field": "role", "message": f"must be one of {', '.join(Role.values)}"}])
    return role


@transaction.atomic
def member_set(*, tenant: TenantRef, email: str, role: str, actor: str, password: str | None = None) -> MemberInfo:
    """Add a person to a tenant, or change their role there; creates the user if needed."""
    _role_checked(role)
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidInput("An email address is needed.", errors=[{"field": "email", "message": "not an email address"}])
    user, created = get_user_model().objects.get_or_create(username=email, defaults={"email": email})
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    with transaction.atomic():
        current = Membership.objects.select_for_update().filter(user=user, tenant_id=tenant.id).first()
        if current is not None and current.role == Role.ADMIN and role != Role.ADMIN \
                and Membership.objects.filter(tenant_id=tenant.id, role=Role.ADMIN).count() == 1:
            raise Conflict("This is the tenant's last admin; make someone else admin first.")
        membership, _ = Membership.objects.update_or_create(user=user, tenant_id=tenant.id, defaults={"role": role})
        audit_record(tenant=tenant, actor=actor, action="member.set", target=email, details={"role": role})
    return member_info(membership)


def member_invite(*, tenant: TenantRef, email: str, role: str, actor: str, base_url: str) -> tuple[MemberInfo, SetPasswordLink | None]:
    """Add a person (or change their role) and, when they cannot sign in yet, make their one-time
    set-password link: mailed when mail is configured, and returned for the admin to copy."""
    info = member_set(tenant=tenant, email=email, role=role, actor=actor)
    link = None
    user = get_user_model().objects.get(username=info.email)
    if not user.has_usable_password() and _password_is_this_tenants(user, tenant):
        link = set_password_link(email=info.email, base_url=base_url, tenant_name=tenant.name)
        audit_record(tenant=tenant, actor=actor, action="member.invite", target=info.email, details={"emailed": link.emailed})
    return info, link


def _password_is_this_tenants(user, tenant: TenantRef) -> bool:
    """May this tenant's admin set the account's password? Only when the account reaches nothing
    else: a link for a platform operator, or for someone who also belongs to another tenant, would
    let one tenant's admin take over access they do not have."""
    return not user.is_superuser and not Membership.objects.filter(user=user).exclude(tenant_id=tenant.id).exists()


def member_password_link(*, tenant: TenantRef, member_id: int, actor: str, base_url: str, platform: bool = False) -> SetPasswordLink:
    """A new set-password link for a member of this tenant (a lost invitation, a forgotten password).
    Refused for accounts that reach more than this tenant, unless asked by the platform's operator
    (`platform`: the command line)."""
    member = Membership.objects.select_related("user").filter(tenant_id=tenant.id, id=member_id).first()
    if member is None:
        raise NotFound(f"No member {member_id} in this tenant.")
    if not platform and not _password_is_this_tenants(member.user, tenant):
        raise PermissionDenied(f"{member.user.username} also signs in elsewhere on this platform (another tenant, or as an operator): "
                        "they reset their own password (Forgot your password on the sign-in page), or a platform operator "
                        "makes a link with `manage.py cdp_user link`.")
    link = set_password_link(email=member.user.username, base_url=base_url, tenant_name=tenant.name)
    audit_record(tenant=tenant, actor=actor, action="member.password_link", target=link.email, details={"emailed": link.emailed})
    return link


@transaction.atomic
def platform_operator_grant(*, email: str, actor: str) -> None:
    """Make an existing user a superuser: they see and run the platform (every tenant, Operations'
    platform-wide view, Django's admin). For the operator of a single install (`make run`'s admin)."""
    user = get_user_model().objects.get(username=email)
    if not user.is_superuser:
        user.is_superuser = user.is_staff = True
        user.save(update_fields=["is_superuser", "is_staff"])
        audit_record(tenant=None, actor=actor, action="user.superuser", target=email)


def member_remove(*, tenant: TenantRef, member_id: int, actor: str) -> None:
    membership = Membership.objects.filter(tenant_id=tenant.id, id=member_id).select_related("user").first()
    if membership is None:
        raise NotFound(f"No member {member_id} in this tenant.")
    admins = Membership.objects.filter(tenant_id=tenant.id, role=Role.ADMIN)
    if membership.role == Role.ADMIN and admins.count() == 1:
        raise Conflict("This is the tenant's last admin; make someone else admin first.")
    membership.delete()
    audit_record(tenant=tenant, actor=actor, action="member.remove", target=membership.user.username)


def _new_secret(model: type[IssuedKey]) -> tuple[str, str, str]:
    key_id = "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(_KEY_ID_LENGTH))
    secret = f"{model.PREFIX}{key_id}_{secrets.token_urlsafe(24)}"
    return key_id, secret, hashlib.sha256(secret.encode()).hexdigest()


def _key_issue(model: type[IssuedKey], *, tenant: TenantRef, name: str, actor: str, **fields) -> tuple[IssuedKeyInfo, str]:
    key_id, secret, key_hash = _new_secret(model)
    key = model.objects.create(tenant_id=tenant.id, name=name or "unnamed", key_id=key_id, key_hash=key_hash, created_by=actor, **fields)
    audit_record(tenant=tenant, actor=actor, action=f"{model._meta.model_name}.create", target=key.name, details={"key_id": key_id, **fields})
    return key_info(key), secret


def _key_revoke(model: type[IssuedKey], *, tenant: TenantRef, key_pk: int, actor: str) -> IssuedKeyInfo:
    key = model.objects.filter(tenant_id=tenant.id, id=key_pk).first()
    if key is None:
        raise NotFound(f"No {model._meta.verbose_name} {key_pk} in this tenant.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(tenant=tenant, actor=actor, action=f"{model._meta.model_name}.revoke", target=key.name, details={"key_id": key.key_id})
    return key_info(key)


def api_key_create(*, tenant: TenantRef, name: str, role: str, actor: str) -> tuple[IssuedKeyInfo, str]:
    """Issue an API key; the secret is returned once and only its hash is kept."""
    return _key_issue(ApiKey, tenant=tenant, name=name, actor=actor, role=_role_checked(role))


def api_key_revoke(*, tenant: TenantRef, key_pk: int, actor: str) -> IssuedKeyInfo:
    return _key_revoke(ApiKey, tenant=tenant, key_pk=key_pk, actor=actor)


def write_key_create(*, tenant: TenantRef, name: str, actor: str, allowed_origins: list[str] = ()) -> tuple[IssuedKeyInfo, str]:
    """A write key; `allowed_origins` (scheme://host[:port]) limits which sites' browsers may send with it."""
    origins = [origin.strip().rstrip("/").lower() for origin in allowed_origins if origin.strip()]
    bad = [origin for origin in origins if not ORIGIN.match(origin)]
    if bad:
        raise InvalidInput("An allowed origin is a scheme and host, such as https://shop.example.",
                           errors=[{"field": "allowed_origins", "message": f"not an origin: {origin}"} for origin in bad])
    extra = {"allowed_origins": "\n".join(origins)} if origins else {}
    return _key_issue(WriteKey, tenant=tenant, name=name, actor=actor, **extra)


def write_key_revoke(*, tenant: TenantRef, key_pk: int, actor: str) -> IssuedKeyInfo:
    return _key_revoke(WriteKey, tenant=tenant, key_pk=key_pk, actor=actor)


def key_id_of(model: type[IssuedKey], secret: str) -> str:
    """The public id a secret starts with (after its prefix), by which its row is found."""
    return secret[len(model.PREFIX):len(model.PREFIX) + _KEY_ID_LENGTH]


def _key_authenticate(model: type[IssuedKey], secret: str):
    if not secret.startswith(model.PREFIX):
        return None
    key_id = key_id_of(model, secret)
    key = model.objects.filter(key_id=key_id, revoked_at__isnull=True).select_related("tenant").first()
    if key is None or not hmac.compare_digest(key.key_hash, hashlib.sha256(secret.encode()).hexdigest()):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_PRECISION:
        model.objects.filter(id=key.id).update(last_used_at=now)
    return key


def api_key_authenticate(secret: str) -> Principal | None:
    """The principal an API key stands for, or None for an unknown or revoked key."""
    key = _key_authenticate(ApiKey, secret)
    if key is None:
        return None
    return Principal(kind="apikey", label=f"apikey:{ApiKey.PREFIX}{key.key_id}", roles={key.tenant_id: key.role})


def write_key_authenticate(secret: str) -> Principal | None:
    """Write keys may only ingest: the principal holds no role, just its one tenant."""
    key = _key_authenticate(WriteKey, secret)
    if key is None:
        return None
    return Principal(kind="writekey", label=f"writekey:{WriteKey.PREFIX}{key.key_id}", roles={key.tenant_id: "ingest"},
                     origins=key.origins())


@transaction.atomic
def app_user_provision(*, email: str) -> object:
    """The Django user for a Databricks Apps identity, created on first sight.

    New users join CDP_APP_USER_DEFAULT_TENANT (when set) with CDP_APP_USER_DEFAULT_ROLE;
    otherwise they belong to no tenant until an admin adds them.
    """
    from django.conf import settings

    email = email.strip().lower()
    user, created = get_user_model().objects.get_or_create(username=email, defaults={"email": email})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        slug, role = settings.CDP_APP_USER_DEFAULT_TENANT, settings.CDP_APP_USER_DEFAULT_ROLE
        tenant = Tenant.objects.filter(slug=slug).first() if slug else None
        if tenant is not None and role in Role.values:
            Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": role})
            audit_record(tenant=tenant_ref(tenant), actor="databricks-app", action="member.provision", target=email, details={"role": role})
    return user
