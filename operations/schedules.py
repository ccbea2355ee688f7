"""The recurring work, declared in code and written to django-q2's table idempotently."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django_q.models import Schedule


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    func: str
    minutes: int
    description: str
    enabled: Callable[[], bool] = lambda: True


SCHEDULES = [
    ScheduleSpec(
        name="inbox-loader", func="tracking.tasks.inbox_load", minutes=1,
        description="Move accepted tracking calls from the inbox into the lakehouse events table.",
    ),
    ScheduleSpec(
        name="computed-traits", func="customers.tasks.computed_traits_refresh", minutes=60,
        description="Recompute every computed trait for everyone, so rolling windows move with time.",
    ),
    ScheduleSpec(
        name="segments", func="segments.tasks.segments_refresh", minutes=5,
        description="Refresh every segment whose interval has passed (default 5 minutes): who entered, who left.",
    ),
    ScheduleSpec(
        name="deliveries", func="messaging.tasks.deliveries_drain", minutes=1,
        description="Send the messages that are due (new ones, retries whose time has come), each recorded once.",
    ),
    ScheduleSpec(
        name="campaigns", func="campaigns.tasks.campaigns_tick", minutes=1,
        description="Start the campaign sends that are due, queue their recipients within each throttle, pick winners.",
    ),
    ScheduleSpec(
        name="journey-orchestrator", func="journeys.tasks.orchestrator_tick", minutes=5,
        description="Advance journeys: enrol entrants, move due instances, queue sends.",
        # On Databricks the bundle's job ticks instead; two tickers would only wait on the lease.
        enabled=lambda: settings.CDP_ORCHESTRATOR_RUNS_IN != "job",
    ),
]


def schedules_ensure() -> list[str]:
    """Create or correct each declared schedule; leaves unknown schedules alone. Returns the names changed."""
    changed = []
    for spec in SCHEDULES:
        if not spec.enabled():
            if Schedule.objects.filter(name=spec.name).delete()[0]:
                changed.append(spec.name)
            continue
        wanted = {"func": spec.func, "schedule_type": Schedule.MINUTES, "minutes": spec.minutes, "repeats": -1}
        schedule = Schedule.objects.filter(name=spec.name).first()
        if schedule is None:
            Schedule.objects.create(name=spec.name, **wanted)
            changed.append(spec.name)
        elif any(getattr(schedule, field) != value for field, value in wanted.items()):
            for field, value in wanted.items():
                setattr(schedule, field, value)
            schedule.save()
            changed.append(spec.name)
    return changed


def schedules_ensure_after_migrate(sender, using="default", **kwargs) -> None:
    if sender.name == "django_q" and using == "default":
        schedules_ensure()
