"""Turn credentials into a Principal: API keys, write keys, JWT bearer tokens, console users."""
from __future__ import annotations

import base64
import binascii
from functools import lru_cache

import jwt
from django.conf import settings

from kernel.errors import AuthenticationFailed
from tenancy.keycache import key_lookup
from tenancy.models import ApiKey, Tenant, WriteKey
from tenancy.roles import Role
from tenancy.selectors import user_principal
from tenancy.types import Principal


def bearer_principal(token: str) -> Principal:
    """An API key (`cdp_ak_...`) or a JWT; anything else is refused."""
    if token.startswith(ApiKey.PREFIX):
        known = key_lookup(token)
        if known is None:
            raise AuthenticationFailed("This API key is unknown or has been revoked.")
        return known.principal
    if token.startswith(WriteKey.PREFIX):
        raise AuthenticationFailed("Write keys only send events, as HTTP Basic user name on /api/v1/*; use an API key here.")
    return jwt_principal(token)


def basic_credentials(header: str) -> str | None:
    """The user name of an HTTP Basic header (Segment SDKs send the write key there)."""
    try:
        decoded = base64.b64decode(header, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=600)


def _jwt_key(token: str):
    """The verification key for this token's algorithm; each algorithm only with its own key."""
    try:
        alg = jwt.get_unverified_header(token).get("alg")
    except jwt.InvalidTokenError:
        raise AuthenticationFailed("The bearer token is neither an API key nor a well-formed JWT.") from None
    if alg == "HS256" and settings.CDP_JWT_HS256_SECRET:
        return settings.CDP_JWT_HS256_SECRET, alg
    if alg == "RS256" and settings.CDP_JWT_PUBLIC_KEY:
        return settings.CDP_JWT_PUBLIC_KEY, alg
    if alg == "RS256" and settings.CDP_JWT_JWKS_URL:
        try:
            return _jwks_client(settings.CDP_JWT_JWKS_URL).get_signing_key_from_jwt(token).key, alg
        except jwt.PyJWKClientError:
            raise AuthenticationFailed("The token's signing key could not be found in the configured JWKS.") from None
    raise AuthenticationFailed(f"JWTs signed with {alg} are not accepted by this server.")


def jwt_principal(token: str) -> Principal:
    """Verify signature, expiry and audience; read tenants and roles from the claims.

    Accepted claim shapes: `{"tenants": {"acme": "editor"}}`, or `{"tenant": "acme", "role": "editor"}`.
    """
    key, alg = _jwt_key(token)
    options = {"require": ["exp", "sub", "aud"]}
    try:
        claims = jwt.decode(
            token, key, algorithms=[alg], audience=settings.CDP_JWT_AUDIENCE,
            issuer=settings.CDP_JWT_ISSUER or None, options=options, leeway=30,
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationFailed("The bearer token has expired.") from None
    except jwt.InvalidAudienceError:
        raise AuthenticationFailed(f"The bearer token is not meant for this server (audience must be '{settings.CDP_JWT_AUDIENCE}').") from None
    except jwt.InvalidTokenError as exc:
        raise AuthenticationFailed(f"The bearer token is invalid: {exc}.") from None
    slugs = _claimed_roles(claims)
    ids = dict(Tenant.objects.filter(slug__in=slugs).values_list("slug", "id"))
    return Principal(kind="jwt", label=f"jwt:{claims['sub']}", roles={ids[s]: r for s, r in slugs.items() if s in ids})


def _claimed_roles(claims: dict) -> dict[str, str]:
    raw = claims.get(settings.CDP_JWT_TENANT_CLAIM)
    if isinstance(raw, dict):
        pairs = raw.items()
    elif isinstance(raw, list):
        pairs = ((slug, claims.get("role", Role.VIEWER)) for slug in raw)
    elif isinstance(claims.get("tenant"), str):
        pairs = [(claims["tenant"], claims.get("role", Role.VIEWER))]
    else:
        pairs = []
    return {str(slug): role for slug, role in pairs if role in Role.values}


def session_principal(user) -> Principal | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return user_principal(user)
