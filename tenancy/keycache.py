"""Key authentication remembered briefly per process: the hot path of every API call.

SDKs and services send the same key with every request; looking it up (and its tenant) once
every KEY_CACHE_SECONDS instead of per request keeps ingestion and reads fast. A revoked key
stops at once in the process that revoked it and within KEY_CACHE_SECONDS everywhere else.
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, replace

from tenancy.models import ApiKey, Tenant, WriteKey
from tenancy.selectors import tenant_ref
from tenancy.services import api_key_authenticate, write_key_authenticate
from tenancy.types import Principal, TenantRef

KEY_CACHE_SECONDS = 10
_MAX_ENTRIES = 10_000
_cache: dict[str, tuple[float, KnownKey]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class KnownKey:
    principal: Principal
    tenant: TenantRef
    role: str


def key_lookup(secret: str) -> KnownKey | None:
    """The principal, tenant and role of an API key or write key; None when unknown or revoked."""
    digest = hashlib.sha256(secret.encode()).hexdigest()
    now = time.monotonic()
    hit = _cache.get(digest)
    if hit is not None and hit[0] > now:
        return hit[1]
    if secret.startswith(WriteKey.PREFIX):
        principal = write_key_authenticate(secret)
    elif secret.startswith(ApiKey.PREFIX):
        principal = api_key_authenticate(secret)
    else:
        return None
    if principal is None:
        return None
    [(tenant_id, role)] = principal.roles.items()
    tenant = tenant_ref(Tenant.objects.get(id=tenant_id))
    known = KnownKey(principal=replace(principal, tenants=((tenant, role),)), tenant=tenant, role=role)
    with _lock:
        if len(_cache) >= _MAX_ENTRIES:
            _cache.clear()
        _cache[digest] = (now + KEY_CACHE_SECONDS, known)
    return known


def key_cache_clear() -> None:
    with _lock:
        _cache.clear()


def _forget_on_revoke(sender, instance, **kwargs) -> None:
    if instance.revoked_at is not None:
        key_cache_clear()
