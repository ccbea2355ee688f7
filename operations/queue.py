"""Work that leaves the request: a django-q2 task queued by name, run by `qcluster`.

A request that can take more than a second on a large tenant (a full identity rebuild, a computed
trait over everyone) records what it started (a run row), queues the task and answers 202 with
where to poll. `CDP_TASKS_INLINE` runs the task before answering instead: the test suite's setting,
so tests see the outcome without a worker (one test drives the real queue).
"""
from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string
from django_q.tasks import async_task

from operations.selectors import task_group


def task_enqueue(func: str, *args, name: str, tenant_id: int) -> None:
    """Queue `func` (a dotted path to a `tasks.py` function taking ids) with `args`, as work of
    `tenant_id`: its admins see the run on Operations, other tenants' admins do not."""
    if settings.CDP_TASKS_INLINE:
        import_string(func)(*args)
        return
    async_task(func, *args, task_name=name, group=task_group(tenant_id))
