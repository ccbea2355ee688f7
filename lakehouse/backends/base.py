"""What every engine offers, and the little each one changes (Features, type names, fragments)."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from lakehouse.errors import BadStatement, ConfigurationError, LakehouseError
from lakehouse.results import Results
from lakehouse.schema import SCHEMA_VERSIONS, TABLES, Column, Table
from lakehouse.statements import Deletion, Statement, expand_list_params

logger = logging.getLogger("cdp.lakehouse")

Row = Mapping[str, Any] | Sequence[Any]


class BaseFeatures:
    # Do statements run inside Django's transactions, so an atomic block rolls them back?
    transactional = False
    # Can rows be changed in place (UPDATE, DELETE, INSERT ... ON CONFLICT / MERGE)?
    supports_row_updates = True
    # Does MERGE INTO exist (Delta tables)?
    supports_merge = False
    # Does the engine enforce the table key, so duplicates can be skipped by the insert itself?
    enforces_keys = False
    # Does a query hand back an Arrow table without conversion?
    returns_arrow = False
    # How many parameter markers may one statement carry (None: no practical limit)?
    max_params_per_statement: int | None = None
    # How many bytes of parameter values may one statement carry (None: no practical limit)?
    max_param_bytes: int | None = None
    # How many values may one list parameter (`IN :values`) of a read carry? Callers chunk longer
    # lists. (Writes take one marker per value, within max_params_per_statement.)
    max_list_values: int = 2000
    # Are secondary indexes created (the embedded engines), or is data clustered instead?
    supports_indexes = False
    # How many values may one list parameter of a write (DELETE, MERGE condition) carry? Writes
    # take one marker per value, so with a marker limit this leaves room for the other parameters.
    max_write_list_values: int = 2000
    # Can a query's rows be written to a table of their own for other tools to read (Unity
    # Catalog on Databricks, the session catalog on Spark)? The embedded engines answer CSV.
    exports_tables = False


class Engine:
    """One engine: SQL text with :params in, Results out. Subclasses supply `_run` and the dialect."""

    vendor = "base"
    features = BaseFeatures()
    type_names: dict[str, str] = {}

    # --- the dialect -----------------------------------------------------------------------
    def quote(self, identifier: str) -> str:
        return f'"{identifier}"'

    def qualify(self, table_name: str) -> str:
        """The name a statement uses for a registered table."""
        self._known_table(table_name)
        return self.quote(table_name)

    def fragments(self) -> dict:
        return {"json_text": self.json_text, "json_double": self.json_double, "null": self.null, "utc_hour": self.utc_hour,
                "json_string": self.json_string, "epoch_seconds": self.epoch_seconds, "month_day": self.month_day,
                "age_bucket": self.age_bucket, "bucket": self.bucket, "add_seconds": self.add_seconds,
                "noindex": self.noindex, "json_array_has": self.json_array_has}

    def null(self, kind: str) -> str:
        """A typed NULL, so the branches of a UNION agree on column types on every engine."""
        return f"CAST(NULL AS {self.type_names[kind]})"

    def json_text(self, column: str, path: str) -> str:
        raise NotImplementedError

    def json_string(self, column: str, path: str) -> str:
        """A JSON value as text, the same on every engine: a string as it is, a number as written
        (42), true/false as the words; NULL when absent."""
        return self.json_text(column, path)

    def utc_hour(self, column: str) -> str:
        """A timestamp's UTC hour as text, 'YYYY-MM-DD HH': a bucket to count by that is the same on
        every engine (callers fold hours into days in a tenant's time zone)."""
        raise NotImplementedError

    def json_double(self, column: str, path: str) -> str:
        return f"CAST({self.json_text(column, path)} AS {self.type_names['double']})"

    def epoch_seconds(self, column: str) -> str:
        """A timestamp as seconds since 1970-01-01 UTC (a double): for durations between two
        columns ("B within 2 hours after A") and buckets counted back from a clock."""
        raise NotImplementedError

    def noindex(self, column: str) -> str:
        """A column a planner without statistics should not pick an index for (SQLite), where
        another index is the one to use."""
        return column

    def add_seconds(self, column: str, seconds: str) -> str:
        """A timestamp plus a whole number of seconds (a marker), as a timestamp the column's own
        comparisons and indexes apply to ("B at most 24 hours after A" is a range on B's time)."""
        raise NotImplementedError

    def month_day(self, column: str) -> str:
        """A timestamp's UTC month and day as text, 'MM-DD' (anniversaries)."""
        raise NotImplementedError

    def floor(self, expression: str) -> str:
        """The largest whole number not above a number, as a bigint."""
        return f"CAST(FLOOR({expression}) AS {self.type_names['bigint']})"

    def age_bucket(self, column: str, clock: str, seconds: str) -> str:
        """How many whole `seconds` (a marker) lie between a timestamp and a clock (a marker, in
        epoch seconds): 0 for the last `seconds` before it. "Active in K of the last M days" counts these."""
        return self.floor(f"(({clock}) - {self.epoch_seconds(column)}) / ({seconds})")

    def bucket(self, expression: str) -> str:
        """A text's deterministic bucket, 0 to 9999, the same on every engine (lakehouse.functions.bucket):
        random samples and holdouts that a customer keeps wherever it is computed."""
        raise NotImplementedError

    def json_array_has(self, column: str, value: str) -> str:
        """Whether a JSON array (text) has an element whose text is `value` (a marker); false for
        anything that is not an array. The caller guards the column to arrays."""
        raise NotImplementedError

    def location(self) -> str:
        """Where the data lives, for `lakehouse status` and logs (never credentials)."""
        return self.vendor

    def export_table(self, statement: Statement, params: Mapping[str, Any], *, location: tuple[str, str], name: str,
                     comment: str) -> int:
        """Make the table `location`.`name` exactly the rows of a read, for other tools to read;
        returns how many. Only engines whose features say `exports_tables`."""
        raise ConfigurationError(f"The {self.vendor} engine writes no tables for other tools; exports to a table need Databricks or Spark.")

    # --- running statements ----------------------------------------------------------------
    def render(self, statement: Statement) -> str:
        # The text depends only on the statement and the engine: render each one once.
        cache = self.__dict__.setdefault("_rendered", {})
        text = cache.get(statement.sql)
        if text is None:
            if len(cache) >= 2000:  # texts built per request (segment definitions) must not grow it forever
                cache.clear()
            text = cache[statement.sql] = statement.render(qualify=self.qualify, fragments=self.fragments())
        return text

    def execute(self, statement: Statement | str, params: Mapping[str, Any] | None = None) -> Results:
        """Run a named statement (or raw text, for the layer's own DDL and tools)."""
        if isinstance(statement, str):
            statement = Statement(name="<sql>", sql=statement)
        # Engines only read the parameters; expanding copies them when there is a list.
        sql, params = self.expand_lists(self.render(statement), params if params is not None else {}, writes=statement.writes)
        try:  # as _guarded, inline: this is the path of every read
            return self._run(sql, params, statement.returns)
        except LakehouseError:
            raise
        except Exception as exc:
            raise self._mapped(statement.name, exc) from exc

    def arrow(self, statement: Statement, params: Mapping[str, Any] | None = None):
        """A read's rows as a pyarrow Table, for bulk reads (a whole tenant's identity edges):
        engines that read Arrow natively (Spark, Databricks) hand it over without making a Python
        object per value; the others build it from their rows. Timestamps are UTC."""
        sql, params = self.expand_lists(self.render(statement), params if params is not None else {}, writes=statement.writes)
        return self._guarded(statement.name, lambda: self._run_arrow(sql, params, statement.returns))

    def _run_arrow(self, sql: str, params: dict, types: dict[str, str]):
        return self._run(sql, params, types).arrow()

    def expand_lists(self, sql: str, params: Mapping[str, Any], *, writes: bool = False) -> tuple[str, dict]:
        """List parameters (`IN :values`) as the engine takes them: one marker per value by default."""
        return expand_list_params(sql, params)

    def _guarded(self, name: str, action):
        try:
            return action()
        except LakehouseError:
            raise
        except Exception as exc:
            raise self._mapped(name, exc) from exc

    def _mapped(self, name: str, exc: Exception) -> LakehouseError:
        """Engine errors become the layer's few types."""
        mapped = self.map_error(exc, name)
        # Parameter values may be customer data: log the statement's name and the error only.
        logger.error("lakehouse statement failed", extra={"cdp_statement": name, "cdp_error": type(mapped).__name__})
        return mapped

    def _run(self, sql: str, params: dict, types: dict[str, str]) -> Results:
        raise NotImplementedError

    def map_error(self, exc: Exception, statement_name: str) -> LakehouseError:
        return BadStatement(statement_name, f"{type(exc).__name__}: {exc}")

    @contextmanager
    def transaction(self):
        """Atomic where the engine can be (the embedded one); a plain block elsewhere."""
        yield

    def ping(self) -> None:
        self.execute("SELECT 1")

    # --- writing rows ----------------------------------------------------------------------
    def insert_many(self, table: Table, rows: Iterable[Row], *, skip_existing: bool = False) -> int:
        """Append rows (dicts or tuples in column order). With skip_existing, rows whose key is
        already in the table are left out, so replays insert nothing twice."""
        raise NotImplementedError

    def upsert(self, table: Table, rows: Iterable[Row], *, newer: str | None = None) -> int:
        """Insert rows or update those whose key exists; with `newer`, only where the incoming
        row's `newer` column is later than the stored one (last write wins by that column)."""
        raise NotImplementedError

    def replace_from_select(self, table: Table, select_sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Make the table's rows exactly what the SELECT returns (its columns in table order)."""
        raise NotImplementedError

    def chunks(self, values: Iterable, *, writes: bool = False) -> list[list]:
        """Sorted values in lists one `IN :values` of a statement takes on this engine (a read's
        `max_list_values`, a write's `max_write_list_values`): the one place lists are cut."""
        size = self.features.max_write_list_values if writes else self.features.max_list_values
        values = sorted(values)
        return [values[i:i + size] for i in range(0, len(values), size)]

    def delete(self, deletion: Deletion, params: Mapping[str, Any]) -> None:
        """Carry out a named delete (`lakehouse.statements.deletion`)."""
        self.delete_where(self._known_table(deletion.table), deletion.where, params, name=deletion.name)

    def delete_where(self, table: Table, where_sql: str, params: Mapping[str, Any], *, name: str = "") -> None:
        """Remove the rows matching a condition (which must name :tenant_id). Domain code names its
        deletes (`Engine.delete`); this is the engines' primitive."""
        if ":tenant_id" not in where_sql:
            raise ValueError("delete_where needs a :tenant_id condition")
        self.execute(Statement(name=name or f"delete.{table.name}", sql=f"DELETE FROM {{{table.name}}} WHERE {where_sql}", writes=True), params)

    # --- schema ----------------------------------------------------------------------------
    def create_table_sql(self, table: Table) -> list[str]:
        raise NotImplementedError

    def add_columns_sql(self, table: Table, columns: Sequence[Column]) -> list[str]:
        return [f"ALTER TABLE {self.qualify(table.name)} ADD COLUMN {self.column_sql(c)}" for c in columns]

    def create_indexes_sql(self, table: Table, indexes) -> list[str]:
        """Secondary indexes, where the engine has them (none by default: Delta clusters instead)."""
        return []

    def column_sql(self, column: Column) -> str:
        return f"{self.quote(column.name)} {self.type_names[column.type]}{'' if column.nullable else ' NOT NULL'}"

    def existing_columns(self, table_name: str) -> set[str] | None:
        """The table's columns as the engine sees them, or None when it does not exist."""
        raise NotImplementedError

    def prepare_location(self) -> None:
        """Create the schema (database) the tables live in, where the engine has one."""

    def row_count(self, table_name: str, *, tenant_id: str | None = None) -> int:
        """All of a table's rows, or one tenant's (every lakehouse table has `tenant_id`, the slug)."""
        if tenant_id is None:
            return int(self.execute(f"SELECT COUNT(*) FROM {self.qualify(table_name)}").scalar() or 0)
        return int(self.execute(f"SELECT COUNT(*) FROM {self.qualify(table_name)} WHERE tenant_id = :tenant_id",
                                {"tenant_id": tenant_id}).scalar() or 0)

    # --- helpers ---------------------------------------------------------------------------
    def _known_table(self, name: str) -> Table:
        if name == SCHEMA_VERSIONS.name:
            return SCHEMA_VERSIONS
        if name not in TABLES:
            raise KeyError(f"unknown lakehouse table {name!r}")
        return TABLES[name]

    @staticmethod
    def row_tuples(table: Table, rows: Iterable[Row], columns: Sequence[str] | None = None) -> list[tuple]:
        """Rows as tuples in table column order; dicts may leave out nullable columns."""
        names = list(columns or table.column_names)
        out = []
        for row in rows:
            if isinstance(row, Mapping):
                out.append(tuple(map(row.get, names)))  # a missing (nullable) column reads as None
            else:
                if len(row) != len(names):
                    raise ValueError(f"{table.name}: a row has {len(row)} values for {len(names)} columns")
                out.append(tuple(row))
        return out

    @staticmethod
    def first_per_key(table: Table, rows: list[tuple]) -> list[tuple]:
        """One row per key, the first seen: what a sequence of inserts that skip existing keys keeps."""
        positions = [table.column_names.index(k) for k in table.key]
        seen, out = set(), []
        for row in rows:
            key = tuple(row[p] for p in positions)
            if key not in seen:
                seen.add(key)
                out.append(row)
        return out

    @staticmethod
    def latest_per_key(table: Table, rows: list[tuple], newer: str | None) -> list[tuple]:
        """One row per key: the one with the greatest `newer` (the first on ties), or the last without it.

        Engines that apply a batch at once (MERGE, overwrite) need one source row per key; this
        gives them the same answer as applying the rows one by one."""
        positions = [table.column_names.index(k) for k in table.key]
        at = table.column_names.index(newer) if newer else None
        best: dict[tuple, tuple] = {}
        for row in rows:
            key = tuple(row[p] for p in positions)
            held = best.get(key)
            if held is None or at is None or (row[at] is not None and held[at] is not None and row[at] > held[at]):
                best[key] = row
        return list(best.values())

    def close(self) -> None:
        """Release connections or sessions the engine opened itself."""


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
