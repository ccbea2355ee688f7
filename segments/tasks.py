"""Scheduled segment work (django-q2 runs these by dotted path)."""
from segments.exports import exports_follow_erasures, segment_export_execute
from segments.services import segment_refresh_execute, segments_refresh_due


def segments_refresh() -> dict[str, int]:
    """Refresh the segments that are due, then write again the exported tables an erasure has
    made out of date."""
    return {**segments_refresh_due(), "exports_rewritten": exports_follow_erasures()}


def segment_refresh_run(run_id: int) -> dict[str, int]:
    """Carry out a refresh queued from the API."""
    run = segment_refresh_execute(run_id)
    return {"run": run.id, "members": run.members, "entered": run.entered, "exited": run.exited}


def segment_export_run(export_id: int) -> dict[str, int]:
    """Write a segment's members to a table, queued from the API, the console or manage.py."""
    export = segment_export_execute(export_id)
    return {"export": export.id, "rows": export.rows}
