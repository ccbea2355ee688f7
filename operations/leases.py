"""Leases in the operational database: at most one holder per name, expiring if the holder dies.

A holder names its host and process, so a lease left by a process that died on this same host
is taken over at once instead of after its expiry (a killed `cdp_load` can be rerun straight away).
"""
from __future__ import annotations

import os
import socket
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from operations.models import Lease


def _token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _holder_is_dead(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def lease_acquire(name: str, *, seconds: int) -> str | None:
    """A token when the lease was free, expired or left by a dead process here; else None."""
    token, now = _token(), timezone.now()
    expires = now + timedelta(seconds=seconds)
    if Lease.objects.filter(name=name, expires_at__lt=now).update(holder=token, expires_at=expires):
        return token
    current = Lease.objects.filter(name=name).values_list("holder", flat=True).first()
    if current is None:
        try:
            with transaction.atomic():
                Lease.objects.create(name=name, holder=token, expires_at=expires)
            return token
        except IntegrityError:
            return None
    if _holder_is_dead(current) and Lease.objects.filter(name=name, holder=current).update(holder=token, expires_at=expires):
        return token
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
