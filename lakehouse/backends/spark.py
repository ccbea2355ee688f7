"""The Spark engine: a PySpark session, local (`spark://local[2]`, plain parquet tables) or the
running one on a Databricks cluster (`spark://active`, Delta tables in Unity Catalog).

Plain local tables cannot UPDATE, DELETE or MERGE; there, row changes are an overwrite from a
staging table. Delta tables use MERGE and INSERT ... REPLACE WHERE, as the warehouse does.

Local Spark is an engine for one process: its tables are kept in a Hive metastore inside the
warehouse folder (so they survive restarts and the next process finds them), and the folder is
locked for the process's life, so a second process gets one clear message instead of tables that
vanish and writes that wipe each other. Within the process, statements on plain tables run one at
a time: an overwrite beside a read or another write lost rows.
"""
from __future__ import annotations

import fcntl
import functools
import logging
import os
import sys
import threading
import uuid
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from lakehouse.backends.base import BaseFeatures, Engine, Row
from lakehouse.backends.parameters import typed_markers
from lakehouse.backends.sparksql import SparkSqlDialect
from lakehouse.errors import BadStatement, ConfigurationError, LakehouseError, TableMissing, WarehouseUnavailable
from lakehouse.results import Results
from lakehouse.schema import Table


class ParquetFeatures(BaseFeatures):
    exports_tables = True
    supports_row_updates = False
    returns_arrow = True


class DeltaFeatures(BaseFeatures):
    exports_tables = True
    supports_merge = True
    returns_arrow = True


_held_locks: dict[str, object] = {}


def lock_warehouse(warehouse_dir: str) -> None:
    """Hold `<warehouse>/.cdp-lock` for this process's life; refuse when another process holds it."""
    if warehouse_dir in _held_locks:
        return
    Path(warehouse_dir).mkdir(parents=True, exist_ok=True)
    handle = open(Path(warehouse_dir) / ".cdp-lock", "a+")  # noqa: SIM115 - held until the process ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ConfigurationError(
            f"Local Spark serves one process at a time, and {holder} is using {warehouse_dir}. Stop it, or use "
            "CDP_LAKEHOUSE=default (SQLite or PostgreSQL) to run several processes, such as make run's web server "
            "and scheduler."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"process {os.getpid()}")
    handle.flush()
    _held_locks[warehouse_dir] = handle


def local_session(master: str, warehouse_dir: str):
    """A small, quiet local session on loopback, its Python workers on this interpreter, its tables
    in a metastore inside `warehouse_dir`: the recipe the test suite and laptops use."""
    from pyspark.sql import SparkSession

    # Workers run the interpreter running this, not the first python3 on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master(master).appName("cdp")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", warehouse_dir)
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse_dir}")
        .enableHiveSupport()
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    # PySpark logs every failed statement with its whole JVM stack; the engine maps and logs
    # errors itself, by statement name.
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return session


_STORE_BUSY = ("FILE_NOT_EXIST", "FAILED_READ_FILE", "Mkdirs failed", "_temporary", "Failed to acquire lock",
               "XSDB6", "Another instance of Derby")


def spark_error_message(exc: Exception) -> str:
    """The error's own words: a Java error's message, not py4j's "An error occurred while calling o39.sql"."""
    java = getattr(exc, "java_exception", None)
    if java is not None:
        try:
            return str(java.getMessage()).strip().splitlines()[0]
        except Exception:  # the JVM is gone: fall back to Python's text
            pass
    lines = [line for line in str(exc).splitlines() if line.strip() and not line.startswith("An error occurred while calling")]
    return lines[0].removeprefix(": ").strip() if lines else type(exc).__name__


def _one_at_a_time(method):
    """Run the whole method (a read and its fetch, or a write's stage-overwrite-drop) under the
    engine's lock on plain tables."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._serialised():
            return method(self, *args, **kwargs)

    return wrapper


class SparkEngine(SparkSqlDialect, Engine):
    vendor = "spark"

    def __init__(self, session, *, catalog: str = "spark_catalog", schema: str = "cdp", table_format: str = "parquet"):
        self.session = session
        self.catalog, self.schema, self.table_format = catalog, schema, table_format
        self.features = DeltaFeatures() if table_format == "delta" else ParquetFeatures()
        # Plain tables have no transactions: one statement at a time in this process.
        self._one_at_a_time = threading.RLock() if table_format != "delta" else None

    def location(self) -> str:
        try:
            master = self.session.sparkContext.master
        except Exception:  # Spark Connect (a serverless job's session) has no SparkContext to ask
            master = "connect"
        return f"spark ({master}) {self.catalog}.{self.schema}, {self.table_format} tables"

    # --- running ------------------------------------------------------------------------------
    def _sql(self, sql: str, params: Mapping[str, Any] | None = None):
        """Every statement goes through here: parameters bound with the types a Databricks
        warehouse would receive (lakehouse/backends/parameters.py)."""
        params = dict(params or {})
        return self.session.sql(typed_markers(sql, params) if params else sql, args=params or None)

    def _serialised(self):
        return self._one_at_a_time if self._one_at_a_time is not None else nullcontext()

    @_one_at_a_time
    def _run(self, sql: str, params: dict, types: dict[str, str]) -> Results:
        frame = self._sql(sql, params)
        columns = frame.columns
        if not columns:
            return Results([], [])
        return Results(columns, [tuple(row) for row in frame.collect()], types=types)

    @_one_at_a_time
    def _run_arrow(self, sql: str, params: dict, types: dict[str, str]):
        # toArrow ships the result in Arrow batches: no Row object per row, the cost of collect().
        return self._sql(sql, params).toArrow()

    def map_error(self, exc: Exception, statement_name: str) -> LakehouseError:
        condition = getattr(exc, "getCondition", lambda: None)() or getattr(exc, "getErrorClass", lambda: None)() or ""
        message = spark_error_message(exc)
        if condition.startswith("TABLE_OR_VIEW_NOT_FOUND") or condition.startswith("SCHEMA_NOT_FOUND"):
            return TableMissing(f"Statement {statement_name!r}: {message}")
        if "Py4JNetworkError" in type(exc).__name__ or "SparkContext was shut down" in message:
            return WarehouseUnavailable(f"the Spark session is not available: {message}")
        if any(marker in f"{condition} {message}" for marker in _STORE_BUSY):
            # Files moved under a read, a folder another writer holds: the store, not the statement.
            return WarehouseUnavailable(f"The Spark store was busy ({message}); try again.")
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
    @_one_at_a_time
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

    @_one_at_a_time
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

    @_one_at_a_time
    def replace_from_select(self, table: Table, select_sql: str, params: Mapping[str, Any] | None = None, *, where: str) -> None:
        params = dict(params or {})
        if self.features.supports_merge:
            self._guarded(f"replace.{table.name}", lambda: self._sql(self.replace_where_sql(table, where, select_sql), params))
            return
        columns = ", ".join(self.quote(c) for c in table.column_names)
        keep = f"SELECT {columns} FROM {self.qualify(table.name)} WHERE NOT COALESCE(({where}), FALSE)"
        self._overwrite(table, f"{keep} UNION ALL {select_sql}", params)

    @_one_at_a_time
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
