"""Simulations asked for from the API or the console: checked at once (a bad period or a version
that cannot run is a 422 there and then), queued, and run by a worker, since a backtest over
weeks of events can take a minute. The answer is kept on the row for the console and the API.

The run needs the orchestrator's lease; a worker that finds a tick running waits for it (a tick
takes seconds to minutes) up to LEASE_WAIT, then records that it could not run.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from journeys.models import Simulation
from journeys.selectors import journey_row
from journeys.services.backtest import backtest_period, journey_backtest, journey_simulate, runnable
from kernel.errors import Conflict, DomainError
from operations.queue import task_enqueue
from tenancy.selectors import tenant_ref_by_id
from tenancy.types import TenantRef

LEASE_WAIT = 300.0  # seconds a queued simulation waits for a running tick
LEASE_POLL = 2.0
KEPT = 20  # simulations kept per journey: the newest


def simulation_queue(*, tenant: TenantRef, journey_id: int, actor: str, mode: str, version: int | None = None,
                     start: datetime | None = None, end: datetime | None = None, segment_id: int | None = None,
                     sample: int = 1000, days: int = 30) -> Simulation:
    """Check the request, record it queued and hand it to a worker."""
    row = journey_row(tenant, journey_id)
    if mode == "backtest":
        start, end = backtest_period(tenant=tenant, journey_id=journey_id, start=start, end=end)
        params = {"start": start, "end": end}
    else:
        params = {"segment_id": segment_id, "sample": sample, "days": days}
    flow = runnable(tenant=tenant, journey_id=journey_id, version=version, mode=mode, segment_id=segment_id, sample=sample)
    simulation = Simulation.objects.create(journey=row, tenant_id=tenant.id, mode=mode, version=flow.version, params=params,
                                           created_by=actor)
    stale = Simulation.objects.filter(journey=row).values_list("id", flat=True)[KEPT:]
    Simulation.objects.filter(id__in=list(stale)).delete()
    task_enqueue("journeys.tasks.journey_simulation_run", simulation.id, name=f"journey-simulation-{tenant.slug}-{simulation.id}",
                 tenant_id=tenant.id)
    simulation.refresh_from_db()
    return simulation


def simulation_execute(simulation_id: int, *, sleep: Callable[[float], None] = time.sleep,
                       clock: Callable[[], float] = time.monotonic) -> Simulation | None:
    """Run a queued simulation and record its answer, or why it could not run."""
    # The claim is one conditional UPDATE, so two workers handed the same task run it once.
    if not Simulation.objects.filter(id=simulation_id, state="queued").update(state="running"):
        return None  # deleted meanwhile (its journey too), or already claimed by another worker
    simulation = Simulation.objects.get(id=simulation_id)
    tenant = tenant_ref_by_id(simulation.tenant_id)
    deadline = clock() + LEASE_WAIT
    while True:
        try:
            result, state, error = _run(tenant, simulation), "succeeded", ""
            break
        except Conflict as exc:
            if clock() >= deadline:
                result, state, error = None, "failed", f"{exc.detail} (waited {LEASE_WAIT:.0f} s)"
                break
            sleep(LEASE_POLL)
        except DomainError as exc:  # the journey or its segment changed since it was asked for
            result, state, error = None, "failed", exc.detail
            break
    Simulation.objects.filter(id=simulation.id).update(state=state, result=result, error=error, finished_at=timezone.now())
    simulation.refresh_from_db()
    return simulation


def _run(tenant: TenantRef, simulation: Simulation) -> dict:
    params = simulation.params
    if simulation.mode == "backtest":
        return journey_backtest(tenant=tenant, journey_id=simulation.journey_id, version=simulation.version,
                                start=datetime.fromisoformat(params["start"]), end=datetime.fromisoformat(params["end"]))
    return journey_simulate(tenant=tenant, journey_id=simulation.journey_id, version=simulation.version,
                            segment_id=params.get("segment_id"), sample=params["sample"], days=params["days"])
