"""Forward-only, idempotent schema migrations for the lakehouse tables.

A new table is created at its latest version; an existing one gets the columns added since the
version recorded for it. Only additive changes exist, so running this while the app serves
requests is safe, and running it twice does nothing the second time.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from lakehouse.backends.base import Engine
from lakehouse.errors import LakehouseError, TableMissing
from lakehouse.schema import SCHEMA_VERSIONS, TABLES, Table, TableRegistry

GLOBAL_TENANT = "*"


@dataclass(frozen=True)
class TableStatus:
    name: str
    exists: bool
    rows: int | None
    version: int | None
    latest: int

    @property
    def state(self) -> str:
        if not self.exists:
            return "missing"
        return "current" if self.version == self.latest else f"needs migration ({self.version} -> {self.latest})"


def recorded_versions(engine: Engine) -> dict[str, int]:
    # Look before reading: on PostgreSQL a failed SELECT would abort the caller's transaction.
    if engine.existing_columns(SCHEMA_VERSIONS.name) is None:
        return {}
    try:
        rows = engine.execute(f"SELECT table_name, version FROM {engine.qualify(SCHEMA_VERSIONS.name)}")
    except TableMissing:
        return {}
    return {row["table_name"]: int(row["version"]) for row in rows}


def _run_all(engine: Engine, statements: list[str]) -> None:
    for sql in statements:
        engine.execute(sql)


def migrate(engine: Engine, *, tables: TableRegistry = TABLES, progress: Callable[[str], None] = lambda message: None) -> list[str]:
    """Bring every registered table to its latest version; returns what changed, one line each."""
    engine.prepare_location()
    if engine.existing_columns(SCHEMA_VERSIONS.name) is None:
        _run_all(engine, engine.create_table_sql(SCHEMA_VERSIONS))
    versions, changes, record = recorded_versions(engine), [], []
    for table in tables:
        change = _migrate_table(engine, table, versions.get(table.name))
        progress(f"{table.name}: {change or 'current'}")
        if change:
            changes.append(f"{table.name}: {change}")
        if change or versions.get(table.name) != table.version:
            record.append({"tenant_id": GLOBAL_TENANT, "table_name": table.name, "version": table.version,
                           "applied_at": datetime.now(UTC)})
    if record:
        engine.upsert(SCHEMA_VERSIONS, record)
    return changes


def _migrate_table(engine: Engine, table: Table, recorded: int | None) -> str:
    existing = engine.existing_columns(table.name)
    if existing is None:
        _run_all(engine, engine.create_table_sql(table))
        return f"created at version {table.version}"
    missing = [column for column in table.columns_added_after(recorded or 1) if column.name not in existing]
    indexes = engine.create_indexes_sql(table, table.indexes_added_after(recorded or 1))
    done = []
    if missing:
        try:
            _run_all(engine, engine.add_columns_sql(table, missing))
        except LakehouseError:
            # Another migrate may have added them a moment ago; only fail if they are still missing.
            if {c.name for c in missing} - (engine.existing_columns(table.name) or set()):
                raise
        done.append(f"added {', '.join(c.name for c in missing)}")
    if indexes:
        _run_all(engine, indexes)  # IF NOT EXISTS: a second migrate at once is harmless
        done.append(f"indexed ({len(indexes)} new)")
    return f"{'; '.join(done)} (version {table.version})" if done else ""


def status(engine: Engine, *, tables: TableRegistry = TABLES, tenant_id: str | None = None) -> list[TableStatus]:
    """Each table's state, with its rows counted platform-wide or for one tenant."""
    versions = recorded_versions(engine)
    out = []
    for table in tables:
        exists = engine.existing_columns(table.name) is not None
        out.append(TableStatus(
            name=table.name, exists=exists, rows=engine.row_count(table.name, tenant_id=tenant_id) if exists else None,
            version=versions.get(table.name) if exists else None, latest=table.version,
        ))
    return out
