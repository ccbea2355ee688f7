"""Rate limits in the Django cache: API requests per principal (a token bucket). Sign-in attempts
are limited in tenancy/signin.py, counted in the database."""
from __future__ import annotations

from django.core.cache import cache


def take_token(key: str, per_minute: int, now: float) -> float:
    """Take one request from `key`'s bucket: 0.0 when allowed, else the seconds until it may retry.

    A token bucket holding a minute's allowance, refilled continuously: a client may burst up to
    `per_minute` requests, then gets one every 60/per_minute seconds. Its state is two numbers,
    so each request costs the same however busy the client (a sliding log of timestamps, ninja's
    default, rewrote up to a minute's worth of them on every request)."""
    rate = per_minute / 60
    state = cache.get(key)
    tokens, updated = state if state else (float(per_minute), now)
    tokens = min(float(per_minute), tokens + max(now - updated, 0.0) * rate)
    if tokens < 1:
        return (1 - tokens) / rate
    # Left alone for a minute, any bucket is full again: the key may expire then.
    cache.set(key, (tokens - 1, now), 60)
    return 0.0
