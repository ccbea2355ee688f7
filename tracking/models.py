"""The ingestion inbox: every accepted call, committed before the API answers.

The loader moves rows into the lakehouse `events` table and stamps `loaded_at`; the unique
(tenant, message_id) constraint makes replays, concurrent or not, insert nothing twice.
"""
from django.db import models


class InboxEvent(models.Model):
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=255)
    type = models.CharField(max_length=16)
    payload = models.TextField(help_text="The normalised call as JSON: corrected timestamps, receivedAt set.")
    received_at = models.DateTimeField()
    loaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "message_id"], name="inbox_unique_message")]
        indexes = [
            # The loader's scan: only rows not loaded yet, in arrival order.
            models.Index(fields=["id"], name="inbox_pending", condition=models.Q(loaded_at__isnull=True)),
        ]
