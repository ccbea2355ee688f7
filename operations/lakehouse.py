"""The lakehouse as the Operations page shows it: engine, location, and each table's state.

A tenant's admin sees its own rows and no location (a file path or a catalog says where every
tenant's data lives); only a superuser sees the platform-wide view."""
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


def lakehouse_overview(*, tenant_slug: str | None) -> LakehouseOverview:
    """`tenant_slug` None: the platform (superusers); otherwise that tenant's counts only."""
    try:
        engine = get_engine()
        location = engine.location() if tenant_slug is None else ""
        return LakehouseOverview(engine=engine.vendor, location=location, tables=status(engine, tenant_id=tenant_slug), problem=None)
    except LakehouseError as exc:
        return LakehouseOverview(engine="?", location="", tables=[], problem=str(exc))
    except Exception as exc:  # an engine that cannot start: show why instead of failing the page
        return LakehouseOverview(engine="?", location="", tables=[], problem=f"{type(exc).__name__}: {exc}. Check CDP_LAKEHOUSE.")
