"""Signing JWTs for tests: an HS256 secret and an RSA key pair made per run."""
from __future__ import annotations

import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HS_SECRET = "test-hs256-secret-that-is-long-enough-for-hmac"
_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PUBLIC_PEM = _RSA.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def make_token(*, alg="HS256", audience="cdp", expires_in=300, sub="svc-1", **claims) -> str:
    payload = {"sub": sub, "aud": audience, "exp": int(time.time()) + expires_in, "iat": int(time.time()), **claims}
    key = HS_SECRET if alg == "HS256" else _RSA
    return jwt.encode(payload, key, algorithm=alg)
