"""django-q2 tasks of campaigns: take ids (or nothing), call a service, nothing else."""
from campaigns.services.sending import campaigns_tick as _tick


def campaigns_tick() -> dict:
    return _tick()
