"""Journey orchestration. The orchestrator's set-based steps arrive with the journeys issue;
the tick exists now so the schedule, the Databricks job and the command are wired end to end."""
from __future__ import annotations

import logging

logger = logging.getLogger("cdp.journeys")


def orchestrator_tick() -> dict:
    """One orchestrator pass over every tenant; returns what it did (nothing, until journeys exist)."""
    summary = {"journeys": 0, "enrolled": 0, "advanced": 0, "queued": 0}
    logger.info("orchestrator tick", extra={"cdp_summary": summary})
    return summary
