"""The scheduler's schedules and recent task runs (admins: they span all tenants' work)."""
from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from cdp_site.auth import TenantAuth
from cdp_site.pagination import PageOut, PageParams, page_of
from operations import selectors
from operations.schemas import ScheduleOut, TaskRunOut
from tenancy.roles import Role

router = Router(tags=["operations"], auth=TenantAuth(read_role=Role.ADMIN, write_role=Role.ADMIN))


@router.get("/schedules", response=PageOut[ScheduleOut])
def schedule_list(request: HttpRequest, page: Query[PageParams]):
    return page_of(selectors.schedule_list(), limit=page.limit, offset=page.offset)


@router.get("/tasks", response=PageOut[TaskRunOut], summary="Recent task runs, newest first, with errors")
def task_list(request: HttpRequest, page: Query[PageParams]):
    return page_of(selectors.task_runs(), limit=page.limit, offset=page.offset, mapper=selectors.task_run_info)
