"""Suppression at ingestion and at loading: which calls name a suppressed or erased identifier.

Erased identifiers are kept only as SHA-256 digests (`sha256:<hex>`): enough to recognise a
replayed call, nothing to read back. The API checks a per-process copy of each tenant's list,
refreshed every SUPPRESSION_CACHE_SECONDS and at once in the process that changes it; the loader
reads the database itself, so nothing suppressed reaches the lakehouse even in that window.
"""
from __future__ import annotations

import hashlib
import threading
import time

from django.db.models import F

from customers.models import SuppressedIdentifier

SUPPRESSION_CACHE_SECONDS = 10
HASHED_PREFIX = "sha256:"
_cache: dict[int, tuple[float, "SuppressionIndex"]] = {}
_lock = threading.Lock()


def identifier_digest(id_type: str, value: str) -> str:
    return HASHED_PREFIX + hashlib.sha256(f"{id_type}|{value}".encode()).hexdigest()


class SuppressionIndex:
    def __init__(self, rows):
        rows = list(rows)
        self.entries = {(t, v): pk for pk, t, v, _ in rows}
        self.suppressed_customers = {cdp_id for _, _, _, cdp_id in rows if cdp_id}
        self.hashed = any(v.startswith(HASHED_PREFIX) for _, v in self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def match(self, identifiers) -> int | None:
        for id_type, value in identifiers:
            pk = self.entries.get((id_type, value))
            if pk is None and self.hashed:
                pk = self.entries.get((id_type, identifier_digest(id_type, value)))
            if pk is not None:
                return pk
        return None


def suppression_index(tenant_id: int, *, fresh: bool = False) -> SuppressionIndex:
    now = time.monotonic()
    hit = None if fresh else _cache.get(tenant_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    rows = SuppressedIdentifier.objects.filter(tenant_id=tenant_id).values_list("id", "id_type", "id_value", "cdp_id", "reason")
    index = SuppressionIndex((pk, t, v, cdp_id if reason == "suppress" else "") for pk, t, v, cdp_id, reason in rows)
    with _lock:
        _cache[tenant_id] = (now + SUPPRESSION_CACHE_SECONDS, index)
    return index


def suppression_changed(tenant_id: int) -> None:
    with _lock:
        _cache.pop(tenant_id, None)


def customer_is_suppressed(tenant_id: int, cdp_id: str) -> bool:
    return cdp_id in suppression_index(tenant_id).suppressed_customers


def suppressed_calls(*, tenant_id: int, calls: list, fresh: bool = False) -> set[str]:
    """messageIds of the calls naming a suppressed identifier; their counters are bumped."""
    index = suppression_index(tenant_id, fresh=fresh)
    if not index:
        return set()
    dropped, hits = set(), {}
    for call in calls:
        pk = index.match(call.identifiers)
        if pk is not None:
            dropped.add(call.message_id)
            hits[pk] = hits.get(pk, 0) + 1
    for pk, count in hits.items():
        SuppressedIdentifier.objects.filter(id=pk).update(dropped_events=F("dropped_events") + count)
    return dropped
