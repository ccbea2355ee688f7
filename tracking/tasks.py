from tracking.loader import load_inbox


def inbox_load() -> dict:
    result = load_inbox()
    return {"batches": result.batches, "calls": result.calls, "busy": result.busy, "set_aside": result.set_aside}
