"""The console's live event view: the calls arriving for this tenant, newest first, while it is open."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.access import role_required
from tracking import debugger, selectors

CALL_TYPES = ("identify", "track", "page", "screen", "group", "alias")


@role_required("events")
def live_events(request: HttpRequest) -> HttpResponse:
    """The page and, for HTMX, its list alone: each poll keeps recording on for this tenant."""
    debugger.watch(request.tenant.id)
    kind = request.GET.get("type", "") if request.GET.get("type", "") in CALL_TYPES else ""
    source = request.GET.get("source", "")[:100]
    context = {"calls": selectors.live_calls(tenant=request.tenant, type=kind, source=source), "types": CALL_TYPES,
               "sources": selectors.live_sources(tenant=request.tenant), "type": kind, "source": source}
    template = "tracking/events.html#live" if request.htmx else "tracking/events.html"
    return render(request, template, context)
