"""Sign-in throttling: a fixed window per client address and user name, in the Django cache."""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache

_WINDOW_SECONDS = 15 * 60


def login_attempt_allowed(request) -> bool:
    """Count this attempt; False once the window's allowance is spent."""
    who = f"{request.META.get('REMOTE_ADDR', '')}|{request.POST.get('username', '').lower()}"
    key = "login_attempts_" + hashlib.sha256(who.encode()).hexdigest()
    cache.add(key, 0, _WINDOW_SECONDS)
    try:
        attempts = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, _WINDOW_SECONDS)
        attempts = 1
    return attempts <= settings.CDP_LOGIN_ATTEMPTS_PER_15_MINUTES
