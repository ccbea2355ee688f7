from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from console.access import console_context, role_required
from kernel.pagination import page_of
from operations import selectors
from operations.lakehouse import lakehouse_overview
from tracking.selectors import inbox_status
from tracking.services import inbox_retry


@role_required("operations")
def index(request: HttpRequest) -> HttpResponse:
    # Superusers see the platform; a tenant's admins their own tenant's counts and runs.
    platform = request.user.is_superuser
    runs = page_of(selectors.task_runs(tenant_id=None if platform else request.tenant.id), limit=50, offset=0,
                   mapper=selectors.task_run_info)
    context = {"schedules": selectors.schedule_list(), "runs": runs.items, "platform": platform}
    if not request.htmx:
        context["lakehouse"] = lakehouse_overview(tenant_slug=None if platform else request.tenant.slug)
        context["inbox"] = inbox_status(tenant_id=request.tenant.id)
    template = "operations/index.html#runs" if request.htmx else "operations/index.html"
    return render(request, template, context)


@require_POST
@role_required("operations")
def retry_inbox(request: HttpRequest) -> HttpResponse:
    ctx = console_context(request)
    retried = inbox_retry(tenant=ctx.tenant, actor=ctx.actor)
    messages.success(request, f"{retried} batch(es) back in line: the loader takes them on its next run (every minute)."
                     if retried else "No batch was set aside.")
    return redirect("operations:index")
