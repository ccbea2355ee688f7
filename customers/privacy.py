"""Suppression at ingestion: which calls name a suppressed identifier (and counting them).

The API checks a per-process copy of each tenant's suppressed identifiers, refreshed every
SUPPRESSION_CACHE_SECONDS and at once in the process that changes it; the loader checks the
database itself, so nothing suppressed reaches the lakehouse even in that window.
"""
from __future__ import annotations

import threading
import time

from django.db.models import F

from customers.models import SuppressedIdentifier
from tenancy.types import TenantRef

SUPPRESSION_CACHE_SECONDS = 10
_cache: dict[int, tuple[float, dict[tuple[str, str], int]]] = {}
_lock = threading.Lock()


def suppression_index(tenant_id: int, *, fresh: bool = False) -> dict[tuple[str, str], int]:
    """(id_type, id_value) -> SuppressedIdentifier id, for one tenant."""
    now = time.monotonic()
    hit = None if fresh else _cache.get(tenant_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    index = {(t, v): pk for pk, t, v in SuppressedIdentifier.objects.filter(tenant_id=tenant_id).values_list("id", "id_type", "id_value")}
    with _lock:
        _cache[tenant_id] = (now + SUPPRESSION_CACHE_SECONDS, index)
    return index


def suppression_changed(tenant_id: int) -> None:
    with _lock:
        _cache.pop(tenant_id, None)


def suppressed_calls(*, tenant: TenantRef, calls: list, fresh: bool = False) -> set[str]:
    """messageIds of the calls that name a suppressed identifier; their counters are bumped."""
    suppressed = suppression_index(tenant.id, fresh=fresh)
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
