"""Password sign-in, wherever it happens (the console, Django's admin): throttled and audited.

The throttle lives in the authentication backend, so no sign-in form can go around it, and it
keys on the user name as the form will see it (stripped, NFKC-normalised: the form authenticates
`" viewer@x"` and a fullwidth first letter as `viewer@x`, so counting the raw value let padded
guesses through) and on the client address from `kernel.clients`.

Failed attempts are counted in the database (`SignInAttempt`), over a fixed 15-minute window:
- per address and user name: `CDP_LOGIN_ATTEMPTS_PER_15_MINUTES` (one person mistyping);
- per address, any user name: 5x that (one client trying many accounts);
- per user name, any address: 10x that (many clients guessing one account). A determined attacker
  can use this to lock an account out for 15 minutes; that is the price of stopping distributed
  guessing, and operators see it in the audit log.
A successful sign-in does not count.
"""
from __future__ import annotations

import datetime as dt
import logging
import unicodedata

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.utils import timezone

from kernel.clients import client_address
from tenancy.models import Membership, SignInAttempt
from tenancy.selectors import tenants_by_id
from tenancy.services import audit_record

security_logger = logging.getLogger("cdp.security")
WINDOW = dt.timedelta(minutes=15)
_KEEP = dt.timedelta(days=1)
PER_ADDRESS_FACTOR, PER_USER_FACTOR = 5, 10


def username_key(raw: str | None) -> str:
    """The user name as Django's sign-in form hands it to authentication, case-folded."""
    stripped = (raw or "").strip()
    return unicodedata.normalize("NFKC", stripped).strip().casefold()[:150]


def sign_in_allowed(request, username: str) -> bool:
    """False once any of the three windows (see the module's docstring) is spent."""
    limit = settings.CDP_LOGIN_ATTEMPTS_PER_15_MINUTES
    if limit <= 0:
        return True
    address = client_address(request)
    counts = SignInAttempt.objects.filter(Q(username=username) | Q(address=address), at__gte=timezone.now() - WINDOW).aggregate(
        pair=Count("id", filter=Q(username=username, address=address)),
        by_address=Count("id", filter=Q(address=address)),
        by_user=Count("id", filter=Q(username=username)),
    )
    return (counts["pair"] < limit and counts["by_address"] < limit * PER_ADDRESS_FACTOR
            and counts["by_user"] < limit * PER_USER_FACTOR)


def sign_in_failed(request, username: str, *, throttled: bool) -> None:
    now = timezone.now()
    address = client_address(request)
    if not throttled:
        SignInAttempt.objects.create(username=username, address=address, at=now)
        SignInAttempt.objects.filter(at__lt=now - _KEEP).delete()
    action = "auth.sign_in_throttled" if throttled else "auth.sign_in_failed"
    _audit(username, action, address, via=_via(request))
    security_logger.warning("%s %s", action, address, extra={"cdp_username": username, "cdp_address": address})


def sign_in_succeeded(request, user) -> None:
    _audit(username_key(user.get_username()), "auth.sign_in", client_address(request), via=_via(request))


def _via(request) -> str:
    return "admin" if request is not None and request.path.startswith("/admin/") else "console"


def _audit(username: str, action: str, address: str, *, via: str) -> None:
    """In the audit log of every tenant the account belongs to (their admins see who signs in, and
    who tries to), or once with no tenant for names that belong to no member."""
    user = get_user_model()._default_manager.filter(username__iexact=username).first()
    tenant_ids = list(Membership.objects.filter(user=user).values_list("tenant_id", flat=True)) if user else []
    details = {"address": address, "via": via}
    for tenant in tenants_by_id(tenant_ids).values() or [None]:
        audit_record(tenant=tenant, actor=username, action=action, target=username, details=details)


class ThrottledModelBackend(ModelBackend):
    """Django's password backend behind the throttle: every sign-in form uses it."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None or username is None:  # not a sign-in form (tests, shell): no client to count
            return super().authenticate(request, username=username, password=password, **kwargs)
        key = username_key(username)
        if not sign_in_allowed(request, key):
            request.cdp_sign_in_throttled = True
            sign_in_failed(request, key, throttled=True)
            raise PermissionDenied("Too many sign-in attempts.")  # stops authenticate() at once
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            sign_in_failed(request, key, throttled=False)
        else:
            sign_in_succeeded(request, user)
        return user
