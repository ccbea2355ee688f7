"""The ingestion inbox: every accepted request, committed before the API answers.

One row per request (`InboxBatch`, the body as received and which of its calls were accepted)
keeps the acknowledgement path to two statements; `InboxMessage` holds one small row per
messageId, whose unique key makes replays, concurrent or not, accept nothing twice. The loader
moves batches into the lakehouse `events` table and stamps `loaded_at`; a batch that cannot be
loaded for a reason of its own is set aside (`failed_at`, `error`) so the others keep flowing,
until an operator retries it.
"""
from django.db import models


class InboxBatch(models.Model):
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    received_at = models.DateTimeField()
    call_type = models.CharField(max_length=16, blank=True, help_text="Set for single-call endpoints (/v1/track ...); empty for /v1/batch.")
    body = models.TextField(help_text="The request body as JSON text (decompressed).")
    accepted = models.TextField(help_text='JSON object: index of each accepted call -> its messageId.')
    calls = models.IntegerField(help_text="How many calls were accepted.")
    loaded_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True, help_text="Set aside: loading it failed for a reason of its own.")
    error = models.TextField(blank=True, help_text="Why it was set aside (the error type and message).")

    class Meta:
        indexes = [models.Index(fields=["id"], name="inbox_batch_pending", condition=models.Q(loaded_at__isnull=True))]


class InboxMessage(models.Model):
    tenant_id = models.BigIntegerField()
    message_id = models.CharField(max_length=255)
    batch_id = models.BigIntegerField(null=True)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant_id", "message_id"], name="inbox_unique_message")]


class RejectedDay(models.Model):
    """How many calls were refused (invalid) per tenant and UTC day, for the home dashboard: refused
    calls are answered with their errors and stored nowhere else."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    calls = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "day"], name="rejected_day_unique")]


class DebugWatch(models.Model):
    """Someone has the tenant's live event view open, until `until` (tracking.debugger)."""

    tenant = models.OneToOneField("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    until = models.DateTimeField()


class RecentCall(models.Model):
    """A call as ingestion saw it while the live event view was open: kept briefly (an hour, 500 per
    tenant) for that view, never used to store or load anything."""

    STATUSES = [("accepted", "Accepted"), ("duplicate", "Duplicate"), ("rejected", "Rejected"), ("suppressed", "Suppressed")]

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    received_at = models.DateTimeField()
    source = models.CharField(max_length=100, help_text="Who sent it: the write key's public label, or the API key's.")
    message_id = models.CharField(max_length=255, blank=True)
    type = models.CharField(max_length=16, blank=True)
    event = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=STATUSES)
    reason = models.TextField(blank=True)
    payload = models.TextField(help_text="The call as sent (write keys removed), cut to a few KB.")

    class Meta:
        indexes = [models.Index(fields=["tenant", "-id"], name="recent_call_tenant")]
