from tracking.loader import batch_calls
from tracking.models import InboxBatch


def inbox_calls(tenant_id: int) -> list[dict]:
    """Every accepted call in the inbox for a tenant, normalised, in arrival order."""
    return [call for batch in InboxBatch.objects.filter(tenant_id=tenant_id).order_by("id") for call in batch_calls(batch)]
