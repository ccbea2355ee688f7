"""Channel secrets encrypted at rest (Fernet: AES-128-CBC with an HMAC), never stored or logged
in the clear.

The key is `CDP_SECRETS_KEY` (on Databricks, an app environment value from a secret scope): one
or more Fernet keys separated by commas, the first encrypting, all decrypting, so a key can be
rotated. Unset, a key is derived from SECRET_KEY (HKDF-SHA256), so a new SECRET_KEY makes stored
secrets unreadable: set CDP_SECRETS_KEY in production.
"""
from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@cache
def _fernet(keys: str, secret_key: str) -> MultiFernet:
    listed = [k.strip() for k in keys.split(",") if k.strip()]
    if not listed:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"cdp channel secrets").derive(secret_key.encode())
        listed = [base64.urlsafe_b64encode(derived).decode()]
    return MultiFernet([Fernet(k) for k in listed])


def _box() -> MultiFernet:
    return _fernet(settings.CDP_SECRETS_KEY, settings.SECRET_KEY)


def encrypt(text: str) -> str:
    return _box().encrypt(text.encode()).decode() if text else ""


def decrypt(token: str) -> str:
    """The secret; empty when none is stored. A token no key opens (SECRET_KEY or the key list
    changed) is an error that says so."""
    if not token:
        return ""
    try:
        return _box().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("A stored channel secret cannot be decrypted: CDP_SECRETS_KEY (or SECRET_KEY) changed. "
                         "Put the old key back after the new one in CDP_SECRETS_KEY, or rotate the channel's secret.") from None
