"""Scheduled messaging work (django-q2 runs these by dotted path)."""
from messaging.services.drain import drain_once


def deliveries_drain() -> dict[str, int]:
    """Send what is due: new messages, retries whose time has come."""
    return drain_once()
