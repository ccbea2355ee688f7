from journeys.services import orchestrator_tick as _tick


def orchestrator_tick() -> dict:
    return _tick()
