"""Tenants, who belongs to them, the keys that act for them, and what changed (audit)."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from tenancy.roles import Role


class Tenant(models.Model):
    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, blank=True, help_text="IANA zone (Europe/Paris) the console shows times and days in; "
                                                                      "empty: the CDP_TIME_ZONE setting.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="membership_unique_user_tenant")]
        ordering = ["tenant__slug", "user__username"]


class IssuedKey(models.Model):
    """A secret shown once: only its SHA-256 is kept, found again by its public `key_id`.

    Keys carry 190 bits of randomness, so a fast hash is enough (a slow password hash would
    only add latency to every request); the lookup is by `key_id`, the comparison constant-time.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    key_id = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]


class ApiKey(IssuedKey):
    """Acts on the REST API for one tenant with one role."""

    PREFIX = "cdp_ak_"
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)


class WriteKey(IssuedKey):
    """Segment-style write key: may only send events to the ingestion routes of its tenant."""

    PREFIX = "cdp_wk_"
    allowed_origins = models.TextField(blank=True, help_text="Browser origins that may send with it, one per line "
                                                             "(https://shop.example); empty: any. Servers send no Origin and are not limited.")

    def origins(self) -> tuple[str, ...]:
        return tuple(line.strip() for line in self.allowed_origins.splitlines() if line.strip())


class AuditEntry(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, related_name="+")
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=100)
    target = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audit_tenant_time")]


class SignInAttempt(models.Model):
    """One failed password sign-in: the ledger the sign-in throttle counts, shared by every process
    (the cache is per process, so a limit kept there would multiply by the number of workers).
    Rows older than a day are deleted as new ones are written."""

    username = models.CharField(max_length=150)  # normalised as the sign-in form sees it
    address = models.CharField(max_length=64)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["username", "at"], name="signin_user_time"),
                   models.Index(fields=["address", "at"], name="signin_address_time")]
