"""Segment definitions (operational database): each change a new version; each refresh a run."""
from django.db import models


class Segment(models.Model):
    KINDS = [("rules", "Rules"), ("manual", "Manual list")]

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=KINDS, default="rules",
                            help_text="rules: the definition decides the members; manual: a list edited by upload, the API or manage.py.")
    definition = models.JSONField(help_text="The condition tree (segments/definitions.py); empty for a manual list.")
    version = models.IntegerField(default=1)
    refresh_minutes = models.IntegerField(default=5, help_text="How often the scheduler refreshes it.")
    members = models.BigIntegerField(default=0, help_text="Members after the last refresh.")
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="segment_unique_name")]
        ordering = ["name"]


class SegmentVersion(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="versions")
    version = models.IntegerField()
    definition = models.JSONField()
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "version"], name="segment_version_unique")]


class SegmentRun(models.Model):
    STATES = [("queued", "Queued"), ("running", "Running"), ("succeeded", "Succeeded"), ("failed", "Failed")]

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="runs")
    tenant_id = models.BigIntegerField()
    kind = models.CharField(max_length=16, default="full")
    trigger = models.CharField(max_length=200)
    state = models.CharField(max_length=16, choices=STATES, default="running")
    version = models.IntegerField()
    clock = models.DateTimeField(help_text="The time the definition was evaluated at (relative conditions read it).")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    members = models.BigIntegerField(default=0)
    entered = models.BigIntegerField(default=0)
    exited = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)


class SegmentExport(models.Model):
    """A segment's members written to a lakehouse table for other tools (Unity Catalog on Databricks)."""
    STATES = SegmentRun.STATES

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="exports")
    tenant_id = models.BigIntegerField()
    name = models.CharField(max_length=100, help_text="The name asked for; the table is named from it and the tenant.")
    table = models.CharField(max_length=600, help_text="catalog.schema.table written.")
    state = models.CharField(max_length=16, choices=STATES, default="queued")
    rows = models.BigIntegerField(default=0)
    requested_by = models.CharField(max_length=200)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
