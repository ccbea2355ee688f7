"""Scheduled and queued messaging work (django-q2 runs these by dotted path)."""
from __future__ import annotations

import time

from django.conf import settings

from messaging.services.drain import drain_once, send_now

IDLE_SECONDS = 2.0


def deliveries_drain(*, seconds: float | None = None, clock=time.monotonic, sleep=time.sleep) -> dict[str, int]:
    """Send what is due, pass after pass, for CDP_DRAIN_LOOP_SECONDS (the schedule starts one a
    minute): the worker loop inside qcluster, so a message queued now goes within seconds, not at
    the next minute. Idle, it looks again every IDLE_SECONDS. Returns counts by outcome."""
    seconds = settings.CDP_DRAIN_LOOP_SECONDS if seconds is None else seconds
    end, totals = clock() + seconds, {}
    while True:
        counts = drain_once()
        for outcome, n in counts.items():
            totals[outcome] = totals.get(outcome, 0) + n
        if clock() >= end:
            return totals
        if not counts:
            sleep(min(IDLE_SECONDS, max(0.0, end - clock())))


def delivery_send_now(delivery_pk: int) -> str:
    """A test send's first attempt (queued by messaging.services.drain.test_send)."""
    return send_now(delivery_pk)
