"""Write-key authentication for the ingestion hot path, remembered briefly per process.

SDKs send the same write key with every batch; looking it up (and its tenant) once every
WRITE_KEY_CACHE_SECONDS instead of per request keeps ingestion fast. A revoked write key stops
at once in the process that revoked it and within that many seconds everywhere else.
"""
from __future__ import annotations

import hashlib
import threading
import time

from tenancy.models import Tenant, WriteKey
from tenancy.selectors import tenant_ref
from tenancy.services import write_key_authenticate
from tenancy.types import TenantContext

WRITE_KEY_CACHE_SECONDS = 30
_MAX_ENTRIES = 10_000
_cache: dict[str, tuple[float, TenantContext]] = {}
_lock = threading.Lock()


def write_key_context(secret: str) -> TenantContext | None:
    """The tenant context a write key stands for, or None for an unknown or revoked key."""
    digest = hashlib.sha256(secret.encode()).hexdigest()
    now = time.monotonic()
    hit = _cache.get(digest)
    if hit is not None and hit[0] > now:
        return hit[1]
    principal = write_key_authenticate(secret)
    if principal is None:
        return None
    [tenant_id] = principal.roles
    context = TenantContext(principal=principal, tenant=tenant_ref(Tenant.objects.get(id=tenant_id)), role="ingest")
    with _lock:
        if len(_cache) >= _MAX_ENTRIES:
            _cache.clear()
        _cache[digest] = (now + WRITE_KEY_CACHE_SECONDS, context)
    return context


def write_key_cache_clear() -> None:
    with _lock:
        _cache.clear()


def _forget_on_revoke(sender, instance: WriteKey, **kwargs) -> None:
    if instance.revoked_at is not None:
        write_key_cache_clear()
