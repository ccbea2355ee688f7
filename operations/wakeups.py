"""Early runs: work that registered interest in a topic is queued when something of that topic
happens, at most once per `SPACING`, instead of waiting for its schedule. The journey orchestrator
registers for `events` while an event-driven journey is live, so a loaded event reaches a
journey within about a minute (the loader's pace) rather than five.

Woken work is always queued for a worker, never run inline: the waking code (a load) must not
wait for it, and its schedule still runs it anyway if the wake-up is lost."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from operations.models import Wakeup

SPACING = timedelta(seconds=30)


def wakeup_register(*, name: str, topic: str, func: str, wanted: bool) -> None:
    """Say whether `func` wants to run early on `topic` (idempotent; cheap when nothing changes)."""
    if not Wakeup.objects.filter(name=name, topic=topic, func=func, wanted=wanted).exists():
        Wakeup.objects.update_or_create(name=name, defaults={"topic": topic, "func": func, "wanted": wanted})


def wakeups_fire(*, topic: str, now=None) -> list[str]:
    """Queue every registered task wanting `topic` that was not woken in the last SPACING; returns their names."""
    now = now or timezone.now()
    fired = []
    for row in Wakeup.objects.filter(topic=topic, wanted=True):
        # One process wins the row (the update is conditional), so a burst of loads queues one run.
        stale = Wakeup.objects.filter(Q(woken_at__isnull=True) | Q(woken_at__lt=now - SPACING), id=row.id)
        if stale.update(woken_at=now):
            async_task(row.func, "early", task_name=f"{row.name}-early")
            fired.append(row.name)
    return fired
