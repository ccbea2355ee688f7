"""How a member gets in: a one-time set-password link, shown once to the admin who invited them and
mailed when the site has mail configured; the same link resets a forgotten password.

The token is Django's password-reset token: it hashes the user's current password and last
sign-in, so it stops working once used (the password changes) or after PASSWORD_RESET_TIMEOUT,
and nothing about it is stored. The link's path carries it, so request logs print the path with
the token cut (`loggable_path`) and the set-password view moves it into the session at once.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

SET_PASSWORD_PREFIX = "/signin/set-password/"


@dataclass(frozen=True)
class SetPasswordLink:
    email: str
    url: str  # absolute: shown to the admin, or mailed
    emailed: bool
    has_password: bool  # the person could already sign in (the link resets it)


def mail_configured() -> bool:
    return bool(settings.EMAIL_HOST)


def set_password_path(user) -> str:
    """The console's set-password page for this user (console/urls.py; under SET_PASSWORD_PREFIX)."""
    return reverse("console:set-password", kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                                                   "token": default_token_generator.make_token(user)})


def set_password_link(*, email: str, base_url: str, send: bool = True, tenant_name: str = "") -> SetPasswordLink:
    """A fresh link for the user `email` (any earlier link of theirs still works until used or
    expired), mailed to them when mail is configured and `send`."""
    user = get_user_model().objects.get(username=email.strip().lower())
    url = base_url.rstrip("/") + set_password_path(user)
    emailed = False
    if send and mail_configured():
        days = settings.PASSWORD_RESET_TIMEOUT // 86400
        where = f" to {tenant_name}" if tenant_name else ""
        send_mail(subject=f"Your sign-in{where} on the customer data platform",
                  message=(f"Set your password with this link (it works once, for {days} day{'s' if days != 1 else ''}):\n\n{url}\n\n"
                           "Then sign in with this email address and that password.\n"),
                  from_email=None, recipient_list=[user.email or user.username])
        emailed = True
    return SetPasswordLink(email=user.username, url=url, emailed=emailed, has_password=user.has_usable_password())


def loggable_path(path: str) -> str:
    """A request path fit for a log line: a set-password link's token cut off."""
    if path.startswith(SET_PASSWORD_PREFIX):
        parts = path[len(SET_PASSWORD_PREFIX):].split("/")
        if len(parts) >= 2 and parts[1] and parts[1] != "set-password":
            return f"{SET_PASSWORD_PREFIX}{parts[0]}/…/"
    return path
