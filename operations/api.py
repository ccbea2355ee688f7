"""The scheduler's schedules and recent task runs (a tenant's own for its admins, all of them for
superusers), and the tenant's ingestion inbox: calls waiting to load and batches set aside."""
from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from kernel.pagination import PageOut, PageParams, page_of
from operations import selectors
from operations.schemas import InboxOut, InboxRetryOut, ScheduleOut, TaskRunOut
from tenancy.auth import TenantAuth
from tracking import selectors as inbox_selectors
from tracking import services as inbox_services

router = Router(tags=["operations"], auth=TenantAuth("operations"))


@router.get("/schedules", response=PageOut[ScheduleOut])
def schedule_list(request: HttpRequest, page: Query[PageParams]):
    return page_of(selectors.schedule_list(), limit=page.limit, offset=page.offset)


@router.get("/tasks", response=PageOut[TaskRunOut], summary="Recent task runs, newest first, with errors",
            description="A tenant's admins see the work queued for their tenant (rebuilds, previews, computed traits); "
                        "superusers see every run, the scheduled ones that span all tenants included.")
def task_list(request: HttpRequest, page: Query[PageParams]):
    scope = None if request.auth.principal.is_superuser else request.auth.tenant.id
    return page_of(selectors.task_runs(tenant_id=scope), limit=page.limit, offset=page.offset, mapper=selectors.task_run_info)


@router.get("/inbox", response=InboxOut, summary="Calls waiting to load, and batches set aside after failing to load, with their errors",
            description="The oldest 50 set-aside batches are listed. Fix the cause, then retry them.")
def inbox_status(request: HttpRequest):
    return inbox_selectors.inbox_status(tenant_id=request.auth.tenant.id)


@router.post("/inbox/retry", response=InboxRetryOut, summary="Put the tenant's set-aside batches back in line for the next load")
def inbox_retry(request: HttpRequest):
    return {"retried": inbox_services.inbox_retry(tenant=request.auth.tenant, actor=request.auth.actor)}
