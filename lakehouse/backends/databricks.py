"""The Databricks engine: a SQL warehouse through databricks-sql-connector, Delta tables in Unity
Catalog, credentials from databricks-sdk unified auth.

Limits that shape the code (the connector's): at most 255 parameter markers and 1 MB of values per
statement, `executemany` is one round trip per row, commit/rollback do nothing. So bulk writes are
multi-row VALUES chunked within both limits, and changes are single MERGE statements.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
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
from lakehouse.statements import Statement

MAX_PARAMS = 255
MAX_PARAM_BYTES = 1_000_000
RETRY_DELAYS = (1.0, 3.0, 9.0)


class DatabricksFeatures(BaseFeatures):
    exports_tables = True
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


# A statement carries at most 1 MB of parameter values; the rows' JSON keeps a margin under it.
MAX_ROWS_JSON_BYTES = 900_000
# JSON has no timestamps: they travel as text and are cast back (the session's time zone is UTC).
_JSON_FIELD_TYPES = {"string": "string", "json": "string", "bigint": "bigint", "double": "double",
                     "boolean": "boolean", "timestamp": "string"}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc(value).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def rows_json_chunks(rows: Sequence[tuple], *, max_bytes: int = MAX_ROWS_JSON_BYTES) -> list[str]:
    """The rows as JSON arrays of objects (`{"c0": ..., "c1": ...}`, in column order), each array
    within `max_bytes`: one parameter per statement, however many rows fit (thousands of event
    rows, where one marker per value allowed 17)."""
    return [text for text, _ in rows_json_batches(rows, max_bytes=max_bytes)]


def rows_json_batches(rows: Sequence[tuple], *, max_bytes: int = MAX_ROWS_JSON_BYTES) -> list[tuple[str, Sequence[tuple]]]:
    """`rows_json_chunks`, each with the rows it carries."""
    batches, current, size, start = [], [], 2, 0
    for index, row in enumerate(rows):
        encoded = json.dumps({f"c{i}": _json_value(v) for i, v in enumerate(row)}, ensure_ascii=False, separators=(",", ":"))
        row_bytes = len(encoded.encode()) + 1
        if row_bytes + 2 > max_bytes:
            raise ValueError(f"one row carries {row_bytes} bytes, over the {max_bytes}-byte statement limit")
        if current and size + row_bytes > max_bytes:
            batches.append(("[" + ",".join(current) + "]", rows[start:index]))
            current, size, start = [], 2, index
        current.append(encoded)
        size += row_bytes
    if current:
        batches.append(("[" + ",".join(current) + "]", rows[start:]))
    return batches


# A MERGE's time range is widened by this much each way, so a parameter's rounding can never
# exclude a row the join would match (the join itself compares exactly).
_RANGE_MARGIN = timedelta(seconds=1)


def merge_range(table: Table, rows: Sequence[tuple]) -> dict[str, datetime]:
    """The time range each timestamp `merge_on` column of these rows spans, as parameters
    (`merge_lo_<column>`, `merge_hi_<column>`): a literal bound the warehouse prunes files with
    before it joins, where a join condition alone prunes only if the plan chooses dynamic pruning."""
    params = {}
    for name in range_columns(table):
        index = table.column_names.index(name)
        values = [utc(row[index]) for row in rows]
        params[f"merge_lo_{name}"] = min(values) - _RANGE_MARGIN
        params[f"merge_hi_{name}"] = max(values) + _RANGE_MARGIN
    return params


def range_columns(table: Table) -> list[str]:
    return [name for name in table.merge_on if table.column(name).type == "timestamp"]


def results_from_arrow(table, types: Mapping[str, str] | None = None) -> Results:
    columns = list(table.column_names)
    rows = list(zip(*(table.column(c).to_pylist() for c in columns))) if columns else []
    return Results(columns, rows, types=dict(types or {}), arrow=table)


_NOT_FOUND = ("TABLE_OR_VIEW_NOT_FOUND", "SCHEMA_NOT_FOUND", "CATALOG_NOT_FOUND")
_AUTH = ("UNAUTHENTICATED", "PERMISSION_DENIED", "Invalid access token", "INSUFFICIENT_PERMISSIONS")
# Delta's optimistic concurrency: the conflicting commit was aborted, nothing was written.
_CONFLICT = ("DELTA_CONCURRENT", "ConcurrentAppendException", "ConcurrentDeleteReadException",
             "ConcurrentDeleteDeleteException", "ConcurrentTransactionException", "Please retry the operation")
_SESSION_GONE = ("Invalid SessionHandle", "SESSION_NOT_FOUND", "SESSION_CLOSED")

# How a failure is retried by the engine (the connector itself already retries 429 and 503 with
# backoff, for up to its retry budget, before it raises):
NEVER, IDEMPOTENT_ONLY, ALWAYS, NEW_SESSION = "never", "idempotent statements only", "always", "once, on a new session"


def classify_databricks_error(exc: Exception, statement_name: str) -> tuple[LakehouseError, str]:
    """The layer's error for a connector failure, and whether the engine may run the statement
    again: decided from the connector's error class and HTTP code (docs/lakehouse.md has the table)."""
    from databricks.sql import exc as dbexc

    message = str(getattr(exc, "message", None) or exc).strip().splitlines()
    text = message[0] if message else type(exc).__name__
    context = getattr(exc, "context", None) or {}
    code = context.get("http-code")
    if any(marker in text for marker in _SESSION_GONE) or isinstance(exc, dbexc.SessionAlreadyClosedError):
        # The session expired or the warehouse restarted: the statement never ran.
        return WarehouseUnavailable(f"The SQL warehouse session ended ({text}); reconnecting."), NEW_SESSION
    if isinstance(exc, dbexc.MaxRetryDurationError) or code in (429, 503):
        return WarehouseUnavailable(f"The SQL warehouse is busy or starting ({text}); the connector retried it already."), NEVER
    if code in (401, 403) or any(marker in text for marker in _AUTH):
        return AuthenticationError(
            f"The SQL warehouse refused our credentials or permissions ({text}). Check CDP_LAKEHOUSE's host and "
            "the app's service principal grants (USE CATALOG, USE SCHEMA, SELECT, MODIFY)."
        ), NEVER
    if any(marker in text for marker in _NOT_FOUND):
        return TableMissing(f"Statement {statement_name!r}: {text}"), NEVER
    if any(marker in text for marker in _CONFLICT):
        return WarehouseUnavailable(f"A concurrent write to the same Delta table won ({text}); retrying."), ALWAYS
    if isinstance(exc, dbexc.RequestError) and code is not None and 400 <= code < 500:
        return BadStatement(statement_name, text), NEVER  # the request itself is wrong (too many parameters, too large)
    if isinstance(exc, (dbexc.RequestError, dbexc.OperationalError)) and not isinstance(exc, dbexc.ServerOperationError):
        # A 5xx or a dropped connection: the statement may or may not have run.
        return WarehouseUnavailable(f"The SQL warehouse did not answer ({text})."), IDEMPOTENT_ONLY
    return BadStatement(statement_name, text), NEVER


def map_databricks_error(exc: Exception, statement_name: str) -> LakehouseError:
    return classify_databricks_error(exc, statement_name)[0]


def connect_arguments(config: EngineConfig) -> tuple[dict, str]:
    """Arguments for `databricks.sql.connect` and a name for the auth mode chosen.

    databricks-sdk unified auth decides: a named profile (`profile=`), the app's service principal
    (DATABRICKS_CLIENT_ID/SECRET), DATABRICKS_TOKEN, or ~/.databrickscfg's DEFAULT profile. The SDK
    reads the config file only when no host is given or a profile is named, so with neither a host
    in CDP_LAKEHOUSE nor DATABRICKS_HOST the DEFAULT profile supplies the host too.

    No catalog or schema is set on the session: every statement names its tables in full, and a
    session opened on a schema that does not exist yet fails (SCHEMA_NOT_FOUND), which kept
    `lakehouse migrate` from creating it.
    """
    if not config.http_path:
        raise ConfigurationError("CDP_LAKEHOUSE has no http_path (or warehouse_id) and DATABRICKS_WAREHOUSE_ID is not set.")
    from databricks.sdk.core import Config

    try:
        if config.host:
            host = config.host if "://" in config.host else f"https://{config.host}"
            sdk_config = Config(host=host, profile=config.profile or None)
        else:
            sdk_config = Config(profile=config.profile or None)
        header_factory = sdk_config.authenticate  # resolves credentials now, refreshes tokens later
        mode = sdk_config.auth_type
    except Exception as exc:  # the SDK says what is missing; keep its words
        raise AuthenticationError(
            f"No Databricks credentials for CDP_LAKEHOUSE: {exc}. Run as a Databricks App, set "
            "DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET or DATABRICKS_TOKEN, or add a profile to ~/.databrickscfg."
        ) from None
    if not sdk_config.host:
        raise ConfigurationError("CDP_LAKEHOUSE names no workspace host, DATABRICKS_HOST is not set and no ~/.databrickscfg profile has one.")
    arguments = {
        "server_hostname": sdk_config.host.split("://")[-1].rstrip("/"), "http_path": config.http_path,
        "session_configuration": {"TIMEZONE": "UTC"}, "user_agent_entry": "cdp-platform",
        "credentials_provider": lambda: header_factory,
    }
    return arguments, mode


# --- the engine --------------------------------------------------------------------------------

class DatabricksEngine(SparkSqlDialect, Engine):
    vendor = "databricks"
    features = DatabricksFeatures()
    table_format = "delta"

    def __init__(self, config: EngineConfig, *, connect: Callable[..., Any] | None = None,
                 arguments: Callable[[EngineConfig], tuple[dict, str]] = connect_arguments,
                 sleep: Callable[[float], None] = time.sleep):
        self.config, self.catalog, self.schema = config, config.catalog, config.schema
        self._sleep, self._arguments = sleep, arguments
        self._connect = connect
        self._local = threading.local()

    def location(self) -> str:
        return f"databricks {self.config.host}{self.config.http_path} {self.catalog}.{self.schema}, delta tables"

    def _connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            arguments, self.auth_mode = self._arguments(self.config)
            connect = self._connect
            if connect is None:
                from databricks import sql as databricks_sql

                connect = databricks_sql.connect
            connection = self._local.connection = connect(**arguments)
        return connection

    def _drop_connection(self) -> None:
        """Close this thread's connection (a dropped or expired one too) so the next try opens anew."""
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already gone: nothing to close
                pass

    @contextmanager
    def not_idempotent(self):
        """Statements run inside are not re-run after an ambiguous failure (a plain INSERT would add
        its rows twice); conflicts and expired sessions, where nothing ran, are still retried."""
        before = getattr(self._local, "idempotent", True)
        self._local.idempotent = False
        try:
            yield
        finally:
            self._local.idempotent = before

    def execute(self, statement, params=None) -> Results:
        if isinstance(statement, Statement) and not statement.idempotent:
            with self.not_idempotent():
                return super().execute(statement, params)
        return super().execute(statement, params)

    def _run(self, sql: str, params: dict, types: dict[str, str]) -> Results:
        table = self._fetch_arrow(sql, params)
        return Results([], []) if table is None else results_from_arrow(table, types)

    def _run_arrow(self, sql: str, params: dict, types: dict[str, str]):
        import pyarrow as pa

        table = self._fetch_arrow(sql, params)
        return pa.table({}) if table is None else table

    def _fetch_arrow(self, sql: str, params: dict):
        """The statement's result as the connector fetches it (Arrow), None for no result set.
        Failures are retried as `classify_databricks_error` allows, with backoff."""
        idempotent = getattr(self._local, "idempotent", True)
        new_sessions = 0
        delays = list(RETRY_DELAYS)
        while True:
            try:
                with self._connection().cursor() as cursor:
                    cursor.execute(sql, databricks_parameters(params) if params else None)
                    if cursor.description is None:
                        return None
                    return cursor.fetchall_arrow()
            except Exception as exc:
                _, retry = classify_databricks_error(exc, "<run>")
                if retry == NEW_SESSION and new_sessions == 0:
                    new_sessions += 1
                    self._drop_connection()
                    continue
                if retry != NEVER:
                    self._drop_connection()  # a dropped or broken connection is never reused
                if (retry == ALWAYS or (retry == IDEMPOTENT_ONLY and idempotent)) and delays:
                    self._sleep(delays.pop(0))
                    continue
                raise

    def map_error(self, exc: Exception, statement_name: str) -> LakehouseError:
        return map_databricks_error(exc, statement_name)

    # --- writing rows: one JSON parameter per statement, typed by the table -------------------
    def rows_source(self, table: Table) -> str:
        """The rows of one JSON parameter (`rows_json_chunks`) as a table, each column of its type."""
        fields = ",".join(f"c{i}:{_JSON_FIELD_TYPES[c.type]}" for i, c in enumerate(table.columns))
        columns = ", ".join(
            (f"CAST(c{i} AS TIMESTAMP)" if c.type == "timestamp" else f"c{i}") + f" AS {self.quote(c.name)}"
            for i, c in enumerate(table.columns))
        names = ", ".join(f"c{i}" for i in range(len(table.columns)))
        return f"(SELECT {columns} FROM (SELECT inline(from_json(:rows, 'array<struct<{fields}>>')) AS ({names})))"

    def insert_statements(self, table: Table, rows: Sequence[tuple], *, skip_existing: bool) -> list[tuple[str, dict]]:
        if skip_existing:
            return self._merges(table, rows, insert_only=True, newer=None)
        columns = ", ".join(self.quote(c) for c in table.column_names)
        sql = f"INSERT INTO {self.qualify(table.name)} ({columns}) SELECT * FROM {self.rows_source(table)}"
        return [(sql, {"rows": chunk}) for chunk in rows_json_chunks(list(rows))]

    def upsert_statements(self, table: Table, rows: Sequence[tuple], *, newer: str | None) -> list[tuple[str, dict]]:
        return self._merges(table, rows, insert_only=False, newer=newer)

    def _merges(self, table: Table, rows: Sequence[tuple], *, insert_only: bool, newer: str | None) -> list[tuple[str, dict]]:
        ranges = {name: (f"merge_lo_{name}", f"merge_hi_{name}") for name in range_columns(table)}
        sql = self.merge_sql(table, self.rows_source(table), newer=newer, insert_only=insert_only, ranges=ranges)
        return [(sql, {"rows": chunk, **merge_range(table, chunk_rows)}) for chunk, chunk_rows in rows_json_batches(list(rows))]

    def _send(self, name: str, statements: list[tuple[str, dict]]) -> None:
        for sql, params in statements:
            self._guarded(name, lambda sql=sql, params=params: self._run(sql, params, {}))

    def insert_many(self, table: Table, rows: Iterable[Row], *, skip_existing: bool = False) -> int:
        tuples = self.row_tuples(table, rows)
        if skip_existing:  # a MERGE that inserts only the missing keys: running it twice adds nothing
            tuples = self.first_per_key(table, tuples)
            self._send(f"insert.{table.name}", self.insert_statements(table, tuples, skip_existing=True))
            return len(tuples)
        with self.not_idempotent():  # a plain INSERT run twice writes its rows twice
            self._send(f"insert.{table.name}", self.insert_statements(table, tuples, skip_existing=False))
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
