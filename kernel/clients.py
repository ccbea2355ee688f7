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
