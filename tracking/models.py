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
