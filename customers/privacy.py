"""Suppression at ingestion: which calls name a suppressed identifier (and counting them)."""
from __future__ import annotations

from django.db.models import F

from customers.models import SuppressedIdentifier
from tenancy.types import TenantRef


def suppressed_calls(*, tenant: TenantRef, calls: list) -> set[str]:
    """messageIds of the calls that name a suppressed identifier; their counters are bumped."""
    values = {value for call in calls for _, value in call.identifiers}
    if not values:
        return set()
    suppressed = {(t, v): pk for pk, t, v in SuppressedIdentifier.objects.filter(tenant_id=tenant.id, id_value__in=values)
                  .values_list("id", "id_type", "id_value")}
    if not suppressed:
        return set()
    dropped, hits = set(), {}
    for call in calls:
        matched = [suppressed[pair] for pair in call.identifiers if pair in suppressed]
        if matched:
            dropped.add(call.message_id)
            hits[matched[0]] = hits.get(matched[0], 0) + 1
    for pk, count in hits.items():
        SuppressedIdentifier.objects.filter(id=pk).update(dropped_events=F("dropped_events") + count)
    return dropped
