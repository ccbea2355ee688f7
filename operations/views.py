from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cdp_site.pagination import page_of
from console.access import role_required
from operations import selectors
from operations.lakehouse import lakehouse_overview
from tenancy.roles import Role


@role_required(read=Role.ADMIN, write=Role.ADMIN)
def index(request: HttpRequest) -> HttpResponse:
    runs = page_of(selectors.task_runs(), limit=50, offset=0, mapper=selectors.task_run_info)
    context = {"schedules": selectors.schedule_list(), "runs": runs.items}
    if not request.htmx:
        context["lakehouse"] = lakehouse_overview()
    template = "operations/index.html#runs" if request.htmx else "operations/index.html"
    return render(request, template, context)
