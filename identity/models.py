"""Identity definitions in the operational database: each tenant's rules, explicit blocks, and runs."""
from django.db import models


class IdentitySettings(models.Model):
    """A tenant's resolution rules (see identity.rules.Rules); absent means the defaults."""

    tenant = models.OneToOneField("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    rules = models.JSONField(default=dict)
    updated_by = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class IdentityBlock(models.Model):
    """An identifier (or an edge between two) that must not join customers: how un-merge is asked for."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    id_type = models.CharField(max_length=32)
    id_value = models.CharField(max_length=255)
    other_type = models.CharField(max_length=32, blank=True, help_text="Set for an edge block.")
    other_value = models.CharField(max_length=255, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "id_type", "id_value", "other_type", "other_value"], name="identity_block_unique")]


class IdentityRun(models.Model):
    """One resolution run (full rebuild or incremental), with what it did."""

    KINDS = [("full", "Full rebuild"), ("incremental", "Incremental"), ("unmerge", "Un-merge"), ("preview", "Rules preview"), ("unblock", "Unblock")]
    STATES = [("queued", "Queued"), ("running", "Running"), ("succeeded", "Succeeded"), ("failed", "Failed")]

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=KINDS)
    state = models.CharField(max_length=16, choices=STATES, default="running")
    trigger = models.CharField(max_length=200, blank=True, help_text="Who or what started it.")
    rules = models.JSONField(null=True, blank=True, help_text="A preview's proposed rules.")
    result = models.JSONField(null=True, blank=True, help_text="A preview's answer.")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    identifiers = models.BigIntegerField(default=0)
    edges = models.BigIntegerField(default=0)
    customers = models.BigIntegerField(default=0)
    changed = models.BigIntegerField(default=0, help_text="Identifiers whose customer changed.")
    merges = models.BigIntegerField(default=0)
    conflicts = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
