"""Everything the databricks engine would send, produced without a network."""
from __future__ import annotations

from datetime import UTC, datetime

from customers.tables import EVENTS
from lakehouse.backends.databricks import DatabricksEngine
from lakehouse.config import EngineConfig
from lakehouse.schema import SCHEMA_VERSIONS, TABLES
from lakehouse.statements import STATEMENTS

T = datetime(2026, 3, 1, tzinfo=UTC)


def databricks_engine(catalog: str = "main", schema: str = "cdp") -> DatabricksEngine:
    return DatabricksEngine(EngineConfig(kind="databricks", host="example.cloud.databricks.com",
                                         http_path="/sql/1.0/warehouses/abc", catalog=catalog, schema=schema))


def sample_row(table) -> dict:
    values = {"string": "x", "json": "{}", "bigint": 1, "double": 1.5, "boolean": True, "timestamp": T}
    return {column.name: values[column.type] for column in table.columns}


def ddl(engine: DatabricksEngine) -> list[str]:
    return [sql for table in [*TABLES, SCHEMA_VERSIONS] for sql in engine.create_table_sql(table)]


def writes(engine: DatabricksEngine) -> dict[str, tuple[str, dict]]:
    """Each kind of write statement the engine generates, for every table."""
    out = {}
    for table in [*TABLES, SCHEMA_VERSIONS]:
        rows = [engine.row_tuples(table, [sample_row(table)])[0]]
        newer = next((c.name for c in table.columns if c.type == "timestamp"), None)
        out[f"insert.{table.name}"] = engine.insert_statements(table, rows, skip_existing=False)[0]
        out[f"insert-skip.{table.name}"] = engine.insert_statements(table, rows, skip_existing=True)[0]
        out[f"upsert.{table.name}"] = engine.upsert_statements(table, rows, newer=newer)[0]
        columns = ", ".join(table.column_names)
        select = f"SELECT {columns} FROM {engine.qualify(table.name)} WHERE tenant_id = :tenant_id"
        out[f"replace.{table.name}"] = (engine.replace_where_sql(table, "tenant_id = :tenant_id", select), {"tenant_id": "x"})
        out[f"delete.{table.name}"] = (f"DELETE FROM {engine.qualify(table.name)} WHERE tenant_id = :tenant_id", {"tenant_id": "x"})
        out[f"count.{table.name}"] = (f"SELECT COUNT(*) FROM {engine.qualify(table.name)}", {})
    return out


def named(engine: DatabricksEngine) -> dict[str, tuple[str, dict]]:
    """Named statements as sent: rendered, list parameters expanded as the engine does (in reads, one
    JSON parameter per list)."""
    return {name: engine.expand_lists(engine.render(statement), dict(statement.example), writes=statement.writes)
            for name, statement in STATEMENTS.items()}


def merges(engine: DatabricksEngine) -> dict[str, tuple[str, dict]]:
    return {name: sql for name, sql in writes(engine).items() if name.startswith(("upsert.", "insert-skip."))}


EVENTS_TABLE = EVENTS
