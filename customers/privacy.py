"""Suppression at ingestion and at loading: which calls name a suppressed or erased identifier.

Which identifiers a call names, normalised how, is identity's one rule
(`identity.selectors.call_identifiers`, under the tenant's rules): every type it extracts (user
id, anonymous id, email, phone in E.164, device id, custom types, an alias's previousId as either
id) is checked, so no identifier type can bring an erased customer back.

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
from identity import selectors as identity_selectors
from tenancy.types import TenantRef

SUPPRESSION_CACHE_SECONDS = 10
HASHED_PREFIX = "sha256:"
_cache: dict[int, tuple[float, SuppressionIndex]] = {}
_lock = threading.Lock()


def identifier_digest(id_type: str, value: str) -> str:
    return HASHED_PREFIX + hashlib.sha256(f"{id_type}|{value}".encode()).hexdigest()


class SuppressionIndex:
    def __init__(self, rows, rules=None):
        rows = list(rows)
        self.rules = rules
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
    rows = list(SuppressedIdentifier.objects.filter(tenant_id=tenant_id).values_list("id", "id_type", "id_value", "cdp_id", "reason"))
    rules = identity_selectors.rules_for(tenant_id) if rows else None  # the identifiers of a call are worked out only then
    index = SuppressionIndex(((pk, t, v, cdp_id if reason == "suppress" else "") for pk, t, v, cdp_id, reason in rows), rules)
    with _lock:
        _cache[tenant_id] = (now + SUPPRESSION_CACHE_SECONDS, index)
    return index


def suppression_changed(tenant_id: int) -> None:
    with _lock:
        _cache.pop(tenant_id, None)


def customer_is_suppressed(tenant_id: int, cdp_id: str) -> bool:
    return cdp_id in suppression_index(tenant_id).suppressed_customers


def suppressed_calls(*, tenant: TenantRef, calls: list[tuple[str, dict]], fresh: bool = False) -> set[str]:
    """messageIds of the calls (messageId, call) naming a suppressed identifier; their counters are bumped."""
    index = suppression_index(tenant.id, fresh=fresh)
    if not index:
        return set()
    dropped, hits = set(), {}
    for message_id, call in calls:
        pk = index.match(identity_selectors.call_identifiers(call, index.rules))
        if pk is not None:
            dropped.add(message_id)
            hits[pk] = hits.get(pk, 0) + 1
    for pk, count in hits.items():
        SuppressedIdentifier.objects.filter(id=pk).update(dropped_events=F("dropped_events") + count)
    return dropped
