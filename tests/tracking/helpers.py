import json

from lakehouse.statements import Statement
from tracking.loader import batch_calls
from tracking.models import InboxBatch
from tracking.services import ingest

EVENTS = Statement("test.events", "SELECT message_id FROM {events} WHERE tenant_id = :tenant_id ORDER BY message_id")


def inbox_calls(tenant_id: int) -> list[dict]:
    """Every accepted call in the inbox for a tenant, normalised, in arrival order."""
    return [call for batch in InboxBatch.objects.filter(tenant_id=tenant_id).order_by("id") for call in batch_calls(batch)]


def send(tenant, *message_ids):
    calls = [{"type": "track", "event": "Viewed", "userId": "u1", "messageId": m} for m in message_ids]
    ingest(tenant=tenant.ref, body=json.dumps({"batch": calls}).encode())
    return InboxBatch.objects.order_by("-id").first()


def loaded(lakehouse, tenant) -> list[str]:
    return [row["message_id"] for row in lakehouse.execute(EVENTS, {"tenant_id": tenant.slug})]
