"""What the scheduler is set to do and what it did, for the Operations page and API."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django_q.models import Schedule, Task

from operations.schedules import SCHEDULES


@dataclass(frozen=True)
class ScheduleInfo:
    name: str
    func: str
    every_minutes: int | None
    next_run: datetime | None
    description: str
    last_status: str | None


@dataclass(frozen=True)
class TaskRunInfo:
    id: str
    name: str
    func: str
    started: datetime
    stopped: datetime
    seconds: float
    success: bool
    error: str | None
    attempts: int


def schedule_list() -> list[ScheduleInfo]:
    described = {spec.name: spec.description for spec in SCHEDULES}
    out = []
    for schedule in Schedule.objects.order_by("name"):
        last = Task.objects.filter(group=schedule.name).order_by("-stopped").only("success").first() if schedule.name else None
        out.append(ScheduleInfo(
            name=schedule.name or f"schedule {schedule.id}", func=schedule.func,
            every_minutes=schedule.minutes if schedule.schedule_type == Schedule.MINUTES else None,
            next_run=schedule.next_run, description=described.get(schedule.name, ""),
            last_status=None if last is None else ("success" if last.success else "failed"),
        ))
    return out


def task_run_info(task: Task) -> TaskRunInfo:
    # A failed task's result is its traceback text; show its last line, the error itself.
    error = None
    if not task.success and task.result is not None:
        lines = [line for line in str(task.result).strip().splitlines() if line.strip()]
        error = lines[-1][:500] if lines else "failed"
    # django-q names a scheduled run with random words ("pizza-michigan-mississippi-pluto"); its
    # group is the schedule's name, which says what it did.
    scheduled = task.group and not task.group.startswith("tenant:")
    return TaskRunInfo(
        id=task.id, name=task.group if scheduled else task.name, func=task.func, started=task.started, stopped=task.stopped,
        seconds=round((task.stopped - task.started).total_seconds(), 3), success=task.success,
        error=error, attempts=task.attempt_count,
    )


def task_group(tenant_id: int) -> str:
    """The django-q group of the work queued for one tenant (operations/queue.py)."""
    return f"tenant:{tenant_id}"


def task_runs(*, tenant_id: int | None):
    """Finished task runs, newest first: one tenant's queued work, or (None) every run, scheduled
    ones included, which span all tenants and so are for superusers only."""
    runs = Task.objects.order_by("-stopped")
    return runs if tenant_id is None else runs.filter(group=task_group(tenant_id))
