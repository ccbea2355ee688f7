"""Conversions: who performed a campaign's goal event within its window after their send (for
the holdout and the control group: after the moment their send would have been)."""
from __future__ import annotations

from datetime import datetime, timedelta

from campaigns.definition import Goal
from segments.selectors import calls_matching
from tenancy.types import TenantRef

SKEW = timedelta(hours=1)  # a call is loaded after it happens; an hour allows for clients' clocks


def conversions(*, tenant: TenantRef, goal: Goal, starts: set[tuple[str, datetime]], until: datetime) -> set[tuple[str, datetime]]:
    """Which (customer, start) pairs converted: a call of the goal (its filters passed) in
    [start, start + window], read up to `until`. One lakehouse statement for all of them."""
    if not starts or goal is None:
        return set()
    first = min(at for _, at in starts)
    step = {"event": goal.event, "event_type": goal.event_type, "where": [f.model_dump() for f in goal.where]}
    calls = calls_matching(tenant=tenant, steps=[step], loaded_after=first - SKEW, loaded_until=until)
    times: dict[str, list[datetime]] = {}
    for call in calls:
        times.setdefault(call["cdp_id"], []).append(call["event_time"])
    window = goal.within.delta
    return {(cdp_id, at) for cdp_id, at in starts
            if any(at <= t <= min(at + window, until) for t in times.get(cdp_id, ()))}
