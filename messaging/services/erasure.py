"""Messaging follows erasure: the outbox keeps customers' ids, rendered variables and receivers'
answers in the operational database, outside the lakehouse tables erasure reaches by
construction, so it reads the customers erased since its watermark and deletes their deliveries,
attempts, events and the addresses its feedback suppressed (run with every drain pass)."""
from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction

from customers.selectors import erased_customers
from messaging.models import Delivery, DeliveryEvent, SuppressedAddress, Watermark

NAME = "erasures"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def deliveries_follow_erasures() -> int:
    """Delete what the outbox holds about customers erased since the last sweep; returns how many deliveries."""
    mark = Watermark.objects.filter(name=NAME).first()
    erased = erased_customers(since=mark.at if mark else EPOCH)
    if not erased:
        return 0
    removed = 0
    with transaction.atomic():
        for tenant_id, cdp_id, _ in erased:
            DeliveryEvent.objects.filter(tenant_id=tenant_id, cdp_id=cdp_id).delete()
            SuppressedAddress.objects.filter(tenant_id=tenant_id, cdp_id=cdp_id).delete()
            removed += Delivery.objects.filter(tenant_id=tenant_id, cdp_id=cdp_id).delete()[1].get("messaging.Delivery", 0)
        Watermark.objects.update_or_create(name=NAME, defaults={"at": erased[-1][2]})
    return removed
