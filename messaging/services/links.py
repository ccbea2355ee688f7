"""Signed public links in messages (no sign-in): one-click unsubscribe (the token names the
tenant, customer, channel kind and topic) and the preference page (tenant and customer). Both
are signed with SECRET_KEY, each with its own salt, and expire after MAX_AGE."""
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


PREFERENCES_SALT = "cdp.messaging.preferences"


def preferences_token(*, tenant_id: int, cdp_id: str) -> str:
    return signing.dumps({"t": tenant_id, "c": cdp_id}, salt=PREFERENCES_SALT, compress=True)


def preferences_url(**keys) -> str:
    return f"{settings.CDP_PUBLIC_URL.rstrip('/')}/m/preferences/{preferences_token(**keys)}/"


def preferences_read(token: str) -> dict | None:
    try:
        keys = signing.loads(token, salt=PREFERENCES_SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    return keys if isinstance(keys, dict) and {"t", "c"} <= set(keys) else None
