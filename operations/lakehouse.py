"""The lakehouse as the Operations page shows it: engine, location, and each table's state."""
from __future__ import annotations

from dataclasses import dataclass

from lakehouse import get_engine
from lakehouse.errors import LakehouseError
from lakehouse.migrate import TableStatus, status


@dataclass(frozen=True)
class LakehouseOverview:
    engine: str
    location: str
    tables: list[TableStatus]
    problem: str | None


def lakehouse_overview() -> LakehouseOverview:
    try:
        engine = get_engine()
        return LakehouseOverview(engine=engine.vendor, location=engine.location(), tables=status(engine), problem=None)
    except LakehouseError as exc:
        return LakehouseOverview(engine="?", location="", tables=[], problem=str(exc))
    except Exception as exc:  # an engine that cannot start: show why instead of failing the page
        return LakehouseOverview(engine="?", location="", tables=[], problem=f"{type(exc).__name__}: {exc}. Check CDP_LAKEHOUSE.")
