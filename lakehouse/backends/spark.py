"""The Spark engine: a PySpark session, local (`spark://local[2]`, plain parquet tables) or the
running one on a Databricks cluster (`spark://active`, Delta tables in Unity Catalog).

Plain local tables cannot UPDATE, DELETE or MERGE; there, row changes are an overwrite from a
staging table. Delta tables use MERGE and INSERT ... REPLACE WHERE, as the warehouse does.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from lakehouse.backends.base import BaseFeatures, Engine, Row
from lakehouse.backends.parameters import typed_markers
from lakehouse.backends.sparksql import SparkSqlDialect
from lakehouse.errors import BadStatement, LakehouseError, TableMissing, WarehouseUnavailable
from lakehouse.results import Results
from lakehouse.schema import Table


class ParquetFeatures(BaseFeatures):
    supports_row_updates = False
    returns_arrow = True


class DeltaFeatures(BaseFeatures):
    supports_merge = True
    returns_arrow = True


def local_session(master: str, warehouse_dir: str):
    """A small, quiet local session: the recipe the test suite and laptops use."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master(master).appName("cdp")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", warehouse_dir)
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse_dir}")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    # PySpark logs every failed statement with its whole JVM stack; the engine maps and logs
    # errors itself, by statement name.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    return session


class SparkEngine(SparkSqlDialect, Engine):
    vendor = "spark"

    def __init__(self, session, *, catalog: str = "spark_catalog", schema: str = "cdp", table_format: str = "parquet"):
        self.session = session
        self.catalog, self.schema, self.table_format = catalog, schema, table_format
        self.features = DeltaFeatures() if table_format == "delta" else ParquetFeatures()

    def location(self) -> str:
        return f"spark ({self.session.sparkContext.master}) {self.catalog}.{self.schema}, {self.table_format} tables"

    # --- running ------------------------------------------------------------------------------
    def _sql(self, sql: str, params: Mapping[str, Any] | None = None):
        """Every statement goes through here: parameters bound with the types a Databricks
        warehouse would receive (lakehouse/backends/parameters.py)."""
        params = dict(params or {})
        return self.session.sql(typed_markers(sql, params) if params else sql, args=params or None)

    def _run(self, sql: str, params: dict, types: dict[str, str]) -> Results:
        frame = self._sql(sql, params)
        columns = frame.columns
        if not columns:
            return Results([], [])
        return Results(columns, [tuple(row) for row in frame.collect()], types=types)

    def _run_arrow(self, sql: str, params: dict, types: dict[str, str]):
        # toArrow ships the result in Arrow batches: no Row object per row, the cost of collect().
        return self._sql(sql, params).toArrow()

    def map_error(self, exc: Exception, statement_name: str) -> LakehouseError:
        condition = getattr(exc, "getCondition", lambda: None)() or getattr(exc, "getErrorClass", lambda: None)() or ""
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if condition.startswith("TABLE_OR_VIEW_NOT_FOUND") or condition.startswith("SCHEMA_NOT_FOUND"):
            return TableMissing(f"Statement {statement_name!r}: {message}")
        if "Py4JNetworkError" in type(exc).__name__ or "SparkContext was shut down" in message:
            return WarehouseUnavailable(f"the Spark session is not available: {message}")
        error = BadStatement(statement_name, message)
        error.condition = condition
        return error

    # --- staging ------------------------------------------------------------------------------
    def _stage(self, table: Table, rows: list[tuple]) -> str:
        """The rows as a temporary view with the table's schema; returns the view's name."""
        from pyspark.sql import types as T

        spark_types = {"string": T.StringType(), "bigint": T.LongType(), "double": T.DoubleType(),
                       "boolean": T.BooleanType(), "timestamp": T.TimestampType(), "json": T.StringType()}
        schema = T.StructType([T.StructField(c.name, spark_types[c.type], True) for c in table.columns])
        name = f"stage_{table.name}_{uuid.uuid4().hex[:12]}"
        self.session.createDataFrame(rows, schema=schema).createOrReplaceTempView(name)
        return name

    def _overwrite(self, table: Table, select_sql: str, params: dict | None = None) -> None:
        """Replace the table's rows with a query's, materialised first: a parquet table cannot be
        overwritten while the same query reads it."""
        staging = f"{self.quote(self.catalog)}.{self.quote(self.schema)}.{self.quote(f'{table.name}__staging_{uuid.uuid4().hex[:8]}')}"
        columns = ", ".join(self.quote(c) for c in table.column_names)
        self._guarded(f"overwrite.{table.name}", lambda: self._sql(f"CREATE TABLE {staging} USING PARQUET AS {select_sql}", params))
        try:
            self._guarded(f"overwrite.{table.name}", lambda: self.session.sql(f"INSERT OVERWRITE TABLE {self.qualify(table.name)} SELECT {columns} FROM {staging}"))
        finally:
            self.session.sql(f"DROP TABLE IF EXISTS {staging}")

    # --- writing rows -------------------------------------------------------------------------
    def insert_many(self, table: Table, rows: Iterable[Row], *, skip_existing: bool = False) -> int:
        tuples = self.row_tuples(table, rows)
        if not tuples:
            return 0
        if skip_existing:
            tuples = self.first_per_key(table, tuples)
        view = self._stage(table, tuples)
        columns = ", ".join(self.quote(c) for c in table.column_names)
        try:
            if skip_existing:
                on = " AND ".join(f"s.{self.quote(k)} = t.{self.quote(k)}" for k in table.key)
                source = f"SELECT s.* FROM {view} s LEFT ANTI JOIN {self.qualify(table.name)} t ON {on}"
                before = self.row_count(table.name)
                self._guarded(f"insert.{table.name}", lambda: self.session.sql(f"INSERT INTO {self.qualify(table.name)} ({columns}) {source}"))
                return self.row_count(table.name) - before
            self._guarded(f"insert.{table.name}", lambda: self.session.sql(f"INSERT INTO {self.qualify(table.name)} ({columns}) SELECT {columns} FROM {view}"))
            return len(tuples)
        finally:
            self.session.catalog.dropTempView(view)

    def upsert(self, table: Table, rows: Iterable[Row], *, newer: str | None = None) -> int:
        tuples = self.latest_per_key(table, self.row_tuples(table, rows), newer)
        if not tuples:
            return 0
        view = self._stage(table, tuples)
        try:
            if self.features.supports_merge:
                self._guarded(f"upsert.{table.name}", lambda: self.session.sql(self.merge_sql(table, view, newer=newer)))
            else:
                self._overwrite(table, self._winners_sql(table, view, newer))
        finally:
            self.session.catalog.dropTempView(view)
        return len(tuples)

    def _winners_sql(self, table: Table, view: str, newer: str | None) -> str:
        """Per key, the incoming row if it is newer (or always, without `newer`), else the stored one."""
        columns = ", ".join(self.quote(c) for c in table.column_names)
        keys = ", ".join(self.quote(k) for k in table.key)
        # _src 1 = incoming, 2 = stored; ties on `newer` keep the stored row, as ON CONFLICT ... WHERE does.
        order = f"{self.quote(newer)} DESC NULLS LAST, _src DESC" if newer else "_src ASC"
        return (
            f"SELECT {columns} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {order}) AS _rank FROM ("
            f"SELECT {columns}, 1 AS _src FROM {view} UNION ALL SELECT {columns}, 2 AS _src FROM {self.qualify(table.name)}"
            f")) WHERE _rank = 1"
        )

    def replace_from_select(self, table: Table, select_sql: str, params: Mapping[str, Any] | None = None, *, where: str) -> None:
        params = dict(params or {})
        if self.features.supports_merge:
            self._guarded(f"replace.{table.name}", lambda: self._sql(self.replace_where_sql(table, where, select_sql), params))
            return
        columns = ", ".join(self.quote(c) for c in table.column_names)
        keep = f"SELECT {columns} FROM {self.qualify(table.name)} WHERE NOT COALESCE(({where}), FALSE)"
        self._overwrite(table, f"{keep} UNION ALL {select_sql}", params)

    def delete_where(self, table: Table, where_sql: str, params: Mapping[str, Any], *, name: str = "") -> None:
        if self.features.supports_row_updates:
            return super().delete_where(table, where_sql, params, name=name)
        if ":tenant_id" not in where_sql:
            raise ValueError("delete_where needs a :tenant_id condition")
        columns = ", ".join(self.quote(c) for c in table.column_names)
        where_sql, params = self.expand_lists(where_sql, params, writes=True)
        self._overwrite(table, f"SELECT {columns} FROM {self.qualify(table.name)} WHERE NOT COALESCE(({where_sql}), FALSE)", params)

    # --- schema -------------------------------------------------------------------------------
    def prepare_location(self) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {self.quote(self.catalog)}.{self.quote(self.schema)}")

    def existing_columns(self, table_name: str) -> set[str] | None:
        qualified = f"{self.catalog}.{self.schema}.{table_name}"
        if not self.session.catalog.tableExists(qualified):
            return None
        return {column.name for column in self.session.catalog.listColumns(qualified)}
