"""Leases in the operational database: at most one holder per name, expiring if the holder dies."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from operations.models import Lease


def lease_acquire(name: str, *, seconds: int) -> str | None:
    """A token when the lease was free (or expired), else None."""
    token, now = uuid.uuid4().hex, timezone.now()
    expires = now + timedelta(seconds=seconds)
    taken = Lease.objects.filter(name=name, expires_at__lt=now).update(holder=token, expires_at=expires)
    if taken:
        return token
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=token, expires_at=expires)
        return token
    except IntegrityError:
        return None


def lease_renew(name: str, token: str, *, seconds: int) -> bool:
    return bool(Lease.objects.filter(name=name, holder=token).update(expires_at=timezone.now() + timedelta(seconds=seconds)))


def lease_release(name: str, token: str) -> None:
    Lease.objects.filter(name=name, holder=token).update(expires_at=timezone.now())


@contextmanager
def held_lease(name: str, *, seconds: int):
    """Yields the token, or None when someone else holds the lease (then do nothing)."""
    token = lease_acquire(name, seconds=seconds)
    try:
        yield token
    finally:
        if token:
            lease_release(name, token)
