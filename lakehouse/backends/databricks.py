"""The Databricks engine: a SQL warehouse through databricks-sql-connector, Delta tables in Unity
Catalog, credentials from databricks-sdk unified auth.

Limits that shape the code (the connector's): at most 255 parameter markers and 1 MB of values per
statement, `executemany` is one round trip per row, commit/rollback do nothing. So bulk writes are
multi-row VALUES chunked within both limits, and changes are single MERGE statements.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from lakehouse.backends.base import BaseFeatures, Engine, Row, utc
from lakehouse.backends.parameters import parameter_type
from lakehouse.backends.sparksql import SparkSqlDialect
from lakehouse.config import EngineConfig
from lakehouse.errors import (
    AuthenticationError,
    BadStatement,
    ConfigurationError,
    LakehouseError,
    TableMissing,
    WarehouseUnavailable,
)
from lakehouse.results import Results
from lakehouse.schema import Table

MAX_PARAMS = 255
MAX_PARAM_BYTES = 1_000_000
RETRY_DELAYS = (1.0, 3.0, 9.0)


class DatabricksFeatures(BaseFeatures):
    supports_merge = True
    returns_arrow = True
    max_params_per_statement = MAX_PARAMS
    max_param_bytes = MAX_PARAM_BYTES
    # A read's list is one JSON parameter (SparkSqlDialect.expand_lists): 500 values of up to 255
    # characters (at most ~1 KB each as UTF-8 JSON) stay inside the 1 MB a statement may carry.
    max_list_values = 500
    # A write's list is one marker per value: 200 leaves room inside the 255 for the others.
    max_write_list_values = 200


# --- pure pieces, tested without a network ---------------------------------------------------

def databricks_parameters(params: Mapping[str, Any]) -> list:
    """Typed named parameters, each of the type the table in `parameters.py` names (timestamps in UTC)."""
    from databricks.sql.parameters import native

    classes = {"VOID": native.VoidParameter, "BOOLEAN": native.BooleanParameter, "INT": native.IntegerParameter,
               "BIGINT": native.BigIntegerParameter, "DOUBLE": native.DoubleParameter,
               "TIMESTAMP": native.TimestampParameter, "STRING": native.StringParameter}
    out = []
    for name, value in params.items():
        kind = parameter_type(value)
        out.append(classes[kind](value=utc(value) if kind == "TIMESTAMP" else value, name=name))
    return out


def _value_bytes(value: Any) -> int:
    return 8 if value is None or isinstance(value, (int, float, bool, datetime)) else len(str(value).encode())


def chunk_rows(rows: Sequence[tuple], *, max_params: int = MAX_PARAMS, max_bytes: int = MAX_PARAM_BYTES) -> list[list[tuple]]:
    """Split rows into statements that each stay within the marker and byte limits."""
    if not rows:
        return []
    width = len(rows[0])
    per_statement = max_params // width
    if per_statement < 1:
        raise ValueError(f"a row of {width} columns needs more than {max_params} parameter markers")
    chunks, current, size = [], [], 0
    for row in rows:
        row_bytes = sum(_value_bytes(v) for v in row)
        if row_bytes > max_bytes:
            raise ValueError(f"one row carries {row_bytes} bytes, over the {max_bytes}-byte statement limit")
        if current and (len(current) == per_statement or size + row_bytes > max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append(row)
        size += row_bytes
    chunks.append(current)
    return chunks


def results_from_arrow(table, types: Mapping[str, str] | None = None) -> Results:
    columns = list(table.column_names)
    rows = list(zip(*(table.column(c).to_pylist() for c in columns))) if columns else []
    return Results(columns, rows, types=dict(types or {}), arrow=table)


_NOT_FOUND = ("TABLE_OR_VIEW_NOT_FOUND", "SCHEMA_NOT_FOUND", "CATALOG_NOT_FOUND")
_AUTH = ("UNAUTHENTICATED", "PERMISSION_DENIED", "Invalid access token", "401", "403", "INSUFFICIENT_PERMISSIONS")
_UNAVAILABLE = ("TEMPORARILY_UNAVAILABLE", "503", "429", "RESOURCE_EXHAUSTED", "warehouse is starting", "Connection refused", "timed out")


def map_databricks_error(exc: Exception, statement_name: str) -> LakehouseError:
    from databricks.sql import exc as dbexc

    message = str(getattr(exc, "message", None) or exc).strip().splitlines()
    text = message[0] if message else type(exc).__name__
    if any(marker in text for marker in _NOT_FOUND):
        return TableMissing(f"Statement {statement_name!r}: {text}")
    if any(marker in text for marker in _AUTH):
        return AuthenticationError(
            f"The SQL warehouse refused our credentials or permissions ({text}). Check CDP_LAKEHOUSE's host and "
            "the app's service principal grants (USE CATALOG, USE SCHEMA, SELECT, MODIFY)."
        )
    if isinstance(exc, (dbexc.RequestError, dbexc.OperationalError, dbexc.MaxRetryDurationError)) or any(m in text for m in _UNAVAILABLE):
        return WarehouseUnavailable(f"The SQL warehouse did not answer ({text}); it may be starting. Retrying with backoff.")
    return BadStatement(statement_name, text)


def connect_arguments(config: EngineConfig, *, user_token: str | None = None) -> tuple[dict, str]:
    """Arguments for `databricks.sql.connect` and a name for the auth mode chosen.

    Order: the forwarded user's token (on-behalf-of-user reads, when asked for), then
    databricks-sdk unified auth: a named profile, the app's service principal
    (DATABRICKS_CLIENT_ID/SECRET), DATABRICKS_TOKEN, or ~/.databrickscfg's DEFAULT profile.
    """
    if not config.host:
        raise ConfigurationError("CDP_LAKEHOUSE names no workspace host and DATABRICKS_HOST is not set.")
    if not config.http_path:
        raise ConfigurationError("CDP_LAKEHOUSE has no http_path (or warehouse_id) and DATABRICKS_WAREHOUSE_ID is not set.")
    base = {
        "server_hostname": config.host.split("://")[-1].rstrip("/"),
        "http_path": config.http_path, "catalog": config.catalog, "schema": config.schema,
        "session_configuration": {"TIMEZONE": "UTC"}, "user_agent_entry": "cdp-platform",
    }
    if user_token:
        return {**base, "access_token": user_token}, "user-token"
    from databricks.sdk.core import Config

    try:
        host = config.host if "://" in config.host else f"https://{config.host}"
        sdk_config = Config(host=host, profile=config.profile or None)
        header_factory = sdk_config.authenticate  # resolves credentials now, refreshes tokens later
        mode = sdk_config.auth_type
    except Exception as exc:  # the SDK says what is missing; keep its words
        raise AuthenticationError(
            f"No Databricks credentials for CDP_LAKEHOUSE: {exc}. Run as a Databricks App, set "
            "DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET or DATABRICKS_TOKEN, or add a profile to ~/.databrickscfg."
        ) from None
    return {**base, "credentials_provider": lambda: header_factory}, mode


# --- the engine --------------------------------------------------------------------------------

class DatabricksEngine(SparkSqlDialect, Engine):
    vendor = "databricks"
    features = DatabricksFeatures()
    table_format = "delta"

    def __init__(self, config: EngineConfig, *, user_token: str | None = None,
                 connect: Callable[..., Any] | None = None, sleep: Callable[[float], None] = time.sleep):
        self.config, self.catalog, self.schema = config, config.catalog, config.schema
        self._user_token, self._sleep = user_token, sleep
        self._connect = connect
        self._local = threading.local()

    def location(self) -> str:
        return f"databricks {self.config.host}{self.config.http_path} {self.catalog}.{self.schema}, delta tables"

    def _connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            arguments, self.auth_mode = connect_arguments(self.config, user_token=self._user_token)
            connect = self._connect
            if connect is None:
                from databricks import sql as databricks_sql

                connect = databricks_sql.connect
            connection = self._local.connection = connect(**arguments)
        return connection

    def _run(self, sql: str, params: dict, types: dict[str, str]) -> Results:
        table = self._fetch_arrow(sql, params)
        return Results([], []) if table is None else results_from_arrow(table, types)

    def _run_arrow(self, sql: str, params: dict, types: dict[str, str]):
        import pyarrow as pa

        table = self._fetch_arrow(sql, params)
        return pa.table({}) if table is None else table

    def _fetch_arrow(self, sql: str, params: dict):
        """The statement's result as the connector fetches it (Arrow), None for no result set;
        a warehouse that is starting or busy is retried with backoff."""
        for _attempt, delay in enumerate((*RETRY_DELAYS, None)):
            try:
                with self._connection().cursor() as cursor:
                    cursor.execute(sql, databricks_parameters(params) if params else None)
                    if cursor.description is None:
                        return None
                    return cursor.fetchall_arrow()
            except Exception as exc:
                mapped = map_databricks_error(exc, "<run>")
                if not isinstance(mapped, WarehouseUnavailable) or delay is None:
                    raise
                self._local.connection = None  # a fresh session on the next try
                self._sleep(delay)
        raise AssertionError("unreachable")

    def map_error(self, exc: Exception, statement_name: str) -> LakehouseError:
        return map_databricks_error(exc, statement_name)

    # --- writing rows: chunked multi-row VALUES, typed by CAST --------------------------------
    def values_source(self, table: Table, rows: Sequence[tuple]) -> tuple[str, dict]:
        """`(SELECT * FROM VALUES (...), ... AS v(cols))` with one CAST marker per value."""
        params, tuples_sql = {}, []
        for r, row in enumerate(rows):
            cells = []
            for c, (column, value) in enumerate(zip(table.columns, row)):
                name = f"r{r}c{c}"
                params[name] = value
                cells.append(f"CAST(:{name} AS {self.type_names[column.type]})")
            tuples_sql.append(f"({', '.join(cells)})")
        columns = ", ".join(self.quote(c) for c in table.column_names)
        return f"(SELECT * FROM VALUES {', '.join(tuples_sql)} AS v({columns}))", params

    def insert_statements(self, table: Table, rows: Sequence[tuple], *, skip_existing: bool) -> list[tuple[str, dict]]:
        statements = []
        for chunk in chunk_rows(list(rows), max_params=MAX_PARAMS, max_bytes=MAX_PARAM_BYTES):
            source, params = self.values_source(table, chunk)
            if skip_existing:
                statements.append((self.merge_sql(table, source, newer=None, insert_only=True), params))
            else:
                columns = ", ".join(self.quote(c) for c in table.column_names)
                statements.append((f"INSERT INTO {self.qualify(table.name)} ({columns}) SELECT * FROM {source}", params))
        return statements

    def upsert_statements(self, table: Table, rows: Sequence[tuple], *, newer: str | None) -> list[tuple[str, dict]]:
        return [
            (self.merge_sql(table, source, newer=newer), params)
            for source, params in (self.values_source(table, chunk) for chunk in chunk_rows(list(rows)))
        ]

    def _send(self, name: str, statements: list[tuple[str, dict]]) -> None:
        for sql, params in statements:
            self._guarded(name, lambda sql=sql, params=params: self._run(sql, params, {}))

    def insert_many(self, table: Table, rows: Iterable[Row], *, skip_existing: bool = False) -> int:
        tuples = self.row_tuples(table, rows)
        if skip_existing:
            tuples = self.first_per_key(table, tuples)
        self._send(f"insert.{table.name}", self.insert_statements(table, tuples, skip_existing=skip_existing))
        return len(tuples)

    def upsert(self, table: Table, rows: Iterable[Row], *, newer: str | None = None) -> int:
        tuples = self.latest_per_key(table, self.row_tuples(table, rows), newer)
        self._send(f"upsert.{table.name}", self.upsert_statements(table, tuples, newer=newer))
        return len(tuples)

    def replace_from_select(self, table: Table, select_sql: str, params: Mapping[str, Any] | None = None, *, where: str) -> None:
        sql = self.replace_where_sql(table, where, select_sql)
        self._guarded(f"replace.{table.name}", lambda: self._run(sql, dict(params or {}), {}))

    # --- schema -------------------------------------------------------------------------------
    def prepare_location(self) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {self.quote(self.catalog)}.{self.quote(self.schema)}")

    def existing_columns(self, table_name: str) -> set[str] | None:
        rows = self.execute(
            "SELECT column_name FROM system.information_schema.columns "
            "WHERE table_catalog = :catalog AND table_schema = :schema AND table_name = :table_name",
            {"catalog": self.catalog, "schema": self.schema, "table_name": table_name},
        )
        names = {row["column_name"] for row in rows}
        return names or None

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
