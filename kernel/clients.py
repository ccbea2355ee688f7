"""Who is on the other end of a request: the client's address, behind a trusted proxy or not."""
from __future__ import annotations

from django.conf import settings


def client_address(request) -> str:
    """The client's IP address.

    Behind a reverse proxy `REMOTE_ADDR` is the proxy, the same for every client, so a limit
    keyed on it lets one client lock out everyone. `CDP_CLIENT_ADDRESS_HEADER` names the header
    the proxy sets (Databricks Apps' proxy sends `X-Real-Ip`); it is read only when configured,
    since a client reaching the app directly could send it itself. A list-valued header
    (`X-Forwarded-For`) gives its last entry: the one the nearest, trusted proxy appended."""
    header = settings.CDP_CLIENT_ADDRESS_HEADER
    if header:
        value = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        forwarded = value.rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded[:64]
    return request.META.get("REMOTE_ADDR", "")


def is_cross_site(request) -> bool:
    """True when a browser says this request comes from another site's page.

    For state-changing requests that carry ambient credentials but no cookie, so no CSRF token
    (a Databricks Apps user: the proxy authenticates the browser and forwards only the identity).
    Browsers send `Sec-Fetch-Site` (all current ones) or at least `Origin` on every cross-origin
    POST, PUT, PATCH and DELETE, forms included; a request with neither is not from a browser,
    so it cannot be a forgery riding on a browser's credentials."""
    fetch_site = request.META.get("HTTP_SEC_FETCH_SITE", "")
    if fetch_site:
        return fetch_site not in ("same-origin", "none")  # "none": the user typed it or used a bookmark
    origin = request.META.get("HTTP_ORIGIN", "")
    if not origin:
        return False
    return origin.rstrip("/").lower() not in _own_origins(request)


def _own_origins(request) -> set[str]:
    return {f"{request.scheme}://{request.get_host()}".lower(),
            *(o.rstrip("/").lower() for o in settings.CSRF_TRUSTED_ORIGINS if "*" not in o)}
