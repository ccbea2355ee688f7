"""Scheduled segment work (django-q2 runs these by dotted path)."""
from segments.services import segments_refresh_due


def segments_refresh() -> dict[str, int]:
    return segments_refresh_due()
