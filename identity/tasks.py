"""django-q2 tasks for identity: an entry point, so it composes identity with customers."""
from customers.services import profiles_follow
from identity.services import preview_execute, run_execute


def identity_rebuild(run_id: int) -> dict:
    """Carry out a queued full rebuild; the customers' data follows their identifiers."""
    run = run_execute(run_id, on_moved=profiles_follow)
    return {"run": run.id, "customers": run.customers, "changed": run.changed, "merges": run.merges, "conflicts": run.conflicts}


def identity_preview(run_id: int) -> dict:
    """Carry out a queued preview of proposed rules."""
    return preview_execute(run_id)
