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
