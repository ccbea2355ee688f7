"""Key authentication remembered briefly per process: the hot path of every API call.

SDKs and services send the same key with every request; looking it up (hash, tenant, role) once
every KEY_CACHE_SECONDS instead of per request keeps ingestion and reads fast. Revocation cannot
wait that long: a key revoked in another process (another gunicorn worker, the CLI, the admin) is
re-checked against the database at most REVOCATION_CHECK_SECONDS after the last check, one small
indexed query per key per process per second whatever the request rate. In the process that
revoked it a key stops at once (the post_save hook below clears the cache).
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, replace

from tenancy.models import ApiKey, IssuedKey, Tenant, WriteKey
from tenancy.selectors import tenant_ref
from tenancy.services import api_key_authenticate, key_id_of, write_key_authenticate
from tenancy.types import Principal, TenantRef

KEY_CACHE_SECONDS = 10
REVOCATION_CHECK_SECONDS = 1
_MAX_ENTRIES = 10_000
clock = time.monotonic  # tests move it instead of sleeping


@dataclass(frozen=True)
class KnownKey:
    principal: Principal
    tenant: TenantRef
    role: str
    model: type[IssuedKey]
    key_id: str


@dataclass
class _Entry:
    known: KnownKey
    expires: float
    checked: float  # when revocation was last checked against the database


_cache: dict[str, _Entry] = {}
_lock = threading.Lock()


def key_lookup(secret: str) -> KnownKey | None:
    """The principal, tenant and role of an API key or write key; None when unknown or revoked."""
    digest = hashlib.sha256(secret.encode()).hexdigest()
    now = clock()
    entry = _cache.get(digest)
    if entry is not None and entry.expires > now:
        if now - entry.checked < REVOCATION_CHECK_SECONDS:
            return entry.known
        if entry.known.model.objects.filter(key_id=entry.known.key_id, revoked_at__isnull=True).exists():
            entry.checked = now
            return entry.known
        with _lock:
            _cache.pop(digest, None)
        return None
    if secret.startswith(WriteKey.PREFIX):
        model, principal = WriteKey, write_key_authenticate(secret)
    elif secret.startswith(ApiKey.PREFIX):
        model, principal = ApiKey, api_key_authenticate(secret)
    else:
        return None
    if principal is None:
        return None
    [(tenant_id, role)] = principal.roles.items()
    tenant = tenant_ref(Tenant.objects.get(id=tenant_id))
    known = KnownKey(principal=replace(principal, tenants=((tenant, role),)), tenant=tenant, role=role,
                     model=model, key_id=key_id_of(model, secret))
    with _lock:
        if len(_cache) >= _MAX_ENTRIES:
            _cache.clear()
        _cache[digest] = _Entry(known=known, expires=now + KEY_CACHE_SECONDS, checked=now)
    return known


def key_cache_clear() -> None:
    with _lock:
        _cache.clear()


def _forget_on_revoke(sender, instance, **kwargs) -> None:
    if instance.revoked_at is not None:
        key_cache_clear()
