"""Signed public links in messages (no sign-in): one-click unsubscribe. The token names the
tenant, customer, channel kind and topic, is signed with SECRET_KEY and expires."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing

SALT = "cdp.messaging.unsubscribe"
MAX_AGE = timedelta(days=90)


def unsubscribe_token(*, tenant_id: int, cdp_id: str, kind: str, topic: str) -> str:
    return signing.dumps({"t": tenant_id, "c": cdp_id, "k": kind, "p": topic}, salt=SALT, compress=True)


def unsubscribe_url(**keys) -> str:
    return f"{settings.CDP_PUBLIC_URL.rstrip('/')}/m/unsubscribe/{unsubscribe_token(**keys)}/"


def unsubscribe_read(token: str) -> dict | None:
    """The token's keys, or None when forged, changed or expired."""
    try:
        return signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
