"""Customer definitions and privacy records in the operational database (customer data itself
lives in the lakehouse)."""
from django.db import models


class SuppressedIdentifier(models.Model):
    """Events naming this identifier are dropped at ingestion and counted (suppression, erasure)."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    id_type = models.CharField(max_length=32)
    id_value = models.CharField(max_length=255)
    reason = models.CharField(max_length=16, choices=[("suppress", "Suppressed"), ("erase", "Erased")])
    cdp_id = models.CharField(max_length=64, blank=True, help_text="The customer it belonged to when suppressed.")
    created_at = models.DateTimeField(auto_now_add=True)
    dropped_events = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "id_type", "id_value"], name="suppressed_unique_identifier")]
        indexes = [models.Index(fields=["tenant", "id_value"], name="suppressed_by_value")]


class ComputedTrait(models.Model):
    """A per-tenant aggregate over each customer's events, kept on the profile as a trait."""

    AGGREGATIONS = [
        ("count", "Count of events"), ("sum", "Sum of a property"), ("min", "Smallest value of a property"),
        ("max", "Largest value of a property"), ("first", "First value (or time, without a property)"),
        ("last", "Last value (or time, without a property)"), ("distinct_count", "Distinct values of a property"),
    ]

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=64, help_text="The trait key it is stored under, e.g. orders_30d.")
    description = models.CharField(max_length=500, blank=True)
    aggregation = models.CharField(max_length=16, choices=AGGREGATIONS)
    event = models.CharField(max_length=200, blank=True, help_text="Only events with this name (track event, page or screen name); blank: any.")
    event_type = models.CharField(max_length=16, blank=True, help_text="Only calls of this type (track, page ...); blank: any.")
    property = models.CharField(max_length=200, blank=True, help_text="The event property aggregated, as a dotted path.")
    window_days = models.PositiveIntegerField(null=True, blank=True, help_text="Rolling window in days; blank: all time.")
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_computed_at = models.DateTimeField(null=True, blank=True)
    # Computing a definition for everyone can take minutes on a large tenant, so it is a queued task.
    state = models.CharField(max_length=16, default="ready", choices=[("queued", "Queued"), ("running", "Computing"), ("ready", "Ready"),
                                                                       ("failed", "Failed")])
    error = models.CharField(max_length=2000, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="computed_trait_unique_name")]
        ordering = ["name"]
