"""Public pages reached from messages (no sign-in; the signed token is the authority)."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from kernel.errors import NotFound
from messaging.services.links import unsubscribe_read
from messaging.services.topics import unsubscribe
from tenancy.selectors import tenants_by_id


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no session or token of ours
def unsubscribe_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks to confirm (mail scanners follow links; they must not unsubscribe anyone); POST
    unsubscribes, from the page's button or a mail client's one-click request."""
    keys = unsubscribe_read(token)
    if keys is None:
        return render(request, "messaging/unsubscribe.html", {"state": "invalid"}, status=400)
    if request.method == "POST":
        tenant = tenants_by_id({keys["t"]}).get(keys["t"])
        if tenant is None:
            return render(request, "messaging/unsubscribe.html", {"state": "invalid"}, status=400)
        try:
            unsubscribe(tenant=tenant, cdp_id=keys["c"], kind=keys["k"], topic=keys["p"])
        except NotFound:
            pass  # erased since: there is nobody left to write to
        return render(request, "messaging/unsubscribe.html", {"state": "done", "topic": keys["p"]})
    return render(request, "messaging/unsubscribe.html", {"state": "confirm", "topic": keys["p"]})
