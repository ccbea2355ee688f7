"""django-q2 tasks of journeys: take ids (or nothing), call a service, nothing else."""
from journeys.services.orchestrator import orchestrator_tick as _tick


def orchestrator_tick(trigger: str = "schedule") -> dict:
    summary = _tick(trigger=trigger)
    return {"tick": summary.tick_id, "busy": summary.busy, **summary.counts}
