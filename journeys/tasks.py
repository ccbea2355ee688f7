"""django-q2 tasks of journeys: take ids (or nothing), call a service, nothing else."""
from journeys.services.orchestrator import orchestrator_tick as _tick
from journeys.services.simulations import simulation_execute


def orchestrator_tick(trigger: str = "schedule") -> dict:
    summary = _tick(trigger=trigger)
    return {"tick": summary.tick_id, "busy": summary.busy, **summary.counts}


def journey_simulation_run(simulation_id: int) -> str:
    simulation = simulation_execute(simulation_id)
    return simulation.state if simulation else "gone"
