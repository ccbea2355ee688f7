"""The embedded engine: the Django `default` connection itself (SQLite or PostgreSQL).

Statements run inside Django's transactions, so an atomic block covers the operational database
and customer data together.
"""
from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.db import DatabaseError, connections, transaction
from django.utils.dateparse import parse_datetime

from lakehouse.backends.base import BaseFeatures, Engine, Row
from lakehouse.errors import BadStatement, LakehouseError, TableMissing, WarehouseUnavailable
from lakehouse.results import Results
from lakehouse.schema import Column, Table

# A :name marker outside quoted text; '::' (a PostgreSQL cast) is not one.
_TOKENS = re.compile(r"('(?:[^']|'')*')|(?<!:):([A-Za-z_]\w*)|(%)")


@lru_cache(maxsize=1024)
def to_pyformat(sql: str) -> tuple[str, tuple[str, ...]]:
    """`:name` markers become `%(name)s` and literal `%` becomes `%%`, leaving quoted text alone."""
    names: list[str] = []

    def replace(match: re.Match) -> str:
        literal, name, percent = match.groups()
        if literal is not None:
            return literal.replace("%", "%%")
        if name is not None:
            names.append(name)
            return f"%({name})s"
        return "%%"

    return _TOKENS.sub(replace, sql), tuple(dict.fromkeys(names))


class SQLiteFeatures(BaseFeatures):
    transactional = True
    enforces_keys = True
    supports_indexes = True


class PostgreSQLFeatures(SQLiteFeatures):
    pass


class DefaultEngine(Engine):
    def __init__(self, alias: str = "default", connection=None):
        self.alias = alias
        self._connection = connection
        self.vendor = self.connection.vendor
        self.features = SQLiteFeatures() if self.vendor == "sqlite" else PostgreSQLFeatures()
        self.type_names = SQLITE_TYPES if self.vendor == "sqlite" else POSTGRES_TYPES
        if self.vendor == "sqlite":
            # After Django's own registration (done when its backend was imported, above): only the
            # lakehouse's tables declare TIMESTAMP columns (Django's fields are DATETIME).
            sqlite3.register_converter("timestamp", utc_timestamp)

    @property
    def connection(self):
        return self._connection if self._connection is not None else connections[self.alias]

    def location(self) -> str:
        settings = self.connection.settings_dict
        where = settings["NAME"] if self.vendor == "sqlite" else f"{settings.get('HOST') or 'localhost'}/{settings['NAME']}"
        return f"{self.vendor} (Django connection '{self.alias}': {where})"

    # --- dialect ------------------------------------------------------------------------------
    def json_text(self, column: str, path: str) -> str:
        if self.vendor == "sqlite":
            return f"json_extract({column}, {path})"
        keys = path.strip("'\"").removeprefix("$.").split(".")
        return f"(({column})::jsonb #>> '{{{','.join(keys)}}}')"

    def json_double(self, column: str, path: str) -> str:
        """A number, or a numeric string, as a double; anything else NULL (as TRY_CAST on Spark).
        A plain CAST would fail the statement on PostgreSQL and read 'n/a' as 0 on SQLite."""
        text = self.json_text(column, path)
        if self.vendor == "sqlite":
            return (f"(CASE WHEN json_type({column}, {path}) IN ('integer', 'real') THEN CAST({text} AS REAL) "
                    f"WHEN json_type({column}, {path}) = 'text' AND trim({text}) GLOB '*[0-9]*' "
                    f"AND NOT trim({text}) GLOB '*[^0-9.eE+-]*' THEN CAST(trim({text}) AS REAL) END)")
        return (f"(CASE WHEN {text} ~ '^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$' "
                f"THEN CAST({text} AS double precision) END)")

    def adapt(self, value: Any) -> Any:
        # SQLite keeps timestamps as text; one fixed UTC format keeps them in order as strings.
        if isinstance(value, datetime) and self.vendor == "sqlite":
            return sqlite_timestamp(value)
        return value

    def adapt_rows(self, table: Table, rows: list[tuple]) -> list:
        """Rows ready for executemany: on SQLite, timestamp columns become fixed-format UTC text
        (only those columns are touched; this is the hot path of every bulk load)."""
        positions = [i for i, c in enumerate(table.columns) if c.type == "timestamp"] if self.vendor == "sqlite" else []
        if not positions:
            return rows
        out = []
        for row in rows:
            row = list(row)
            for i in positions:
                value = row[i]
                if isinstance(value, datetime):
                    row[i] = sqlite_timestamp(value)
            out.append(row)
        return out

    # --- running ------------------------------------------------------------------------------
    def _run(self, sql: str, params: dict, types: dict[str, str]) -> Results:
        text, names = to_pyformat(sql)
        try:
            values = {name: params[name] for name in names}
        except KeyError:
            raise BadStatement("<params>", f"missing parameters: {sorted(set(names) - set(params))}") from None
        if self.vendor == "sqlite":
            for name, value in values.items():
                if isinstance(value, datetime):  # the only values adapt() changes
                    values[name] = self.adapt(value)
            # sqlite3 reads :name markers itself: skip Django's cursor wrapper and the pyformat
            # round trip (most of a point read's cost). Same connection, so same transaction.
            connection = self._connection if self._connection is not None else connections[self.alias]
            connection.ensure_connection()
            cursor = connection.connection.cursor()
            try:
                cursor.execute(sql, values)
                return self._results(cursor, types, plain=True)
            finally:
                cursor.close()
        with self.connection.cursor() as cursor:
            cursor.execute(text, values if names else None)
            return self._results(cursor, types)

    @staticmethod
    def _results(cursor, types: dict[str, str], *, plain: bool = False) -> Results:
        if cursor.description is None:
            return Results([], [])
        columns = [column[0] for column in cursor.description]
        return Results(columns, cursor.fetchall(), types=types, plain=plain)

    def map_error(self, exc: Exception, statement_name: str) -> LakehouseError:
        message = str(exc)
        if "no such table" in message or "does not exist" in message and "relation" in message:
            return TableMissing(f"Statement {statement_name!r}: {message.splitlines()[0]}")
        if isinstance(exc, DatabaseError) and ("database is locked" in message or "could not connect" in message):
            return WarehouseUnavailable(f"{self.vendor} is busy or unreachable: {message.splitlines()[0]}")
        return BadStatement(statement_name, message.splitlines()[0] if message else type(exc).__name__)

    @contextmanager
    def transaction(self):
        if self._connection is None:
            with transaction.atomic(using=self.alias):
                yield
        else:
            with self._own_atomic():
                yield

    @contextmanager
    def _own_atomic(self):
        # A connection outside Django's registry (tests' second server): plain BEGIN/COMMIT.
        conn = self.connection
        conn.ensure_connection()
        previous = conn.get_autocommit()
        if not previous:  # already inside one of ours: the outer block commits
            yield
            return
        conn.set_autocommit(False)
        try:
            yield
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.set_autocommit(previous)

    def _executemany(self, name: str, table: Table, sql: str, rows: list[tuple]) -> int:
        def run() -> int:
            with self.connection.cursor() as cursor:
                cursor.executemany(sql, self.adapt_rows(table, rows))
                return max(cursor.rowcount, 0)

        return self._guarded(name, run)

    # --- writing rows -------------------------------------------------------------------------
    def _insert_sql(self, table: Table, columns: Sequence[str]) -> str:
        cols = ", ".join(self.quote(c) for c in columns)
        return f"INSERT INTO {self.qualify(table.name)} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})"

    def insert_many(self, table: Table, rows: Iterable[Row], *, skip_existing: bool = False) -> int:
        tuples = self.row_tuples(table, rows)
        if not tuples:
            return 0
        sql = self._insert_sql(table, table.column_names)
        if skip_existing:
            sql += f" ON CONFLICT ({', '.join(self.quote(k) for k in table.key)}) DO NOTHING"
        with self.transaction():
            return self._executemany(f"insert.{table.name}", table, sql, tuples)

    def upsert(self, table: Table, rows: Iterable[Row], *, newer: str | None = None) -> int:
        tuples = self.row_tuples(table, rows)
        if not tuples:
            return 0
        target = self.qualify(table.name)
        updates = ", ".join(f"{self.quote(c)} = excluded.{self.quote(c)}" for c in table.column_names if c not in table.key)
        sql = self._insert_sql(table, table.column_names)
        sql += f" ON CONFLICT ({', '.join(self.quote(k) for k in table.key)}) DO UPDATE SET {updates}"
        if newer:
            sql += f" WHERE excluded.{self.quote(newer)} > {target}.{self.quote(newer)}"
        with self.transaction():
            return self._executemany(f"upsert.{table.name}", table, sql, tuples)

    def replace_from_select(self, table: Table, select_sql: str, params: Mapping[str, Any] | None = None, *, where: str) -> None:
        """The select reads the table as it was before (as Delta's REPLACE WHERE does), so its rows
        are staged in a temporary table first; then delete and insert, in one transaction."""
        from lakehouse.statements import Statement

        params = dict(params or {})
        cols = ", ".join(self.quote(c) for c in table.column_names)
        stage = self.quote(f"stage_{table.name}_{uuid.uuid4().hex[:12]}")
        with self.transaction():
            self.execute(Statement(name=f"replace.{table.name}.stage", sql=f"CREATE TEMPORARY TABLE {stage} AS {select_sql}", writes=True), params)
            try:
                self.execute(Statement(name=f"replace.{table.name}.delete", sql=f"DELETE FROM {{{table.name}}} WHERE {where}", writes=True), params)
                self.execute(Statement(name=f"replace.{table.name}.insert", sql=f"INSERT INTO {{{table.name}}} ({cols}) SELECT {cols} FROM {stage}", writes=True))
            finally:
                self.execute(f"DROP TABLE {stage}")

    # --- schema -------------------------------------------------------------------------------
    def create_table_sql(self, table: Table) -> list[str]:
        name = self.qualify(table.name)
        columns = ",\n  ".join(self.column_sql(c) for c in table.columns)
        key = ", ".join(self.quote(k) for k in table.key)
        statements = [f"CREATE TABLE IF NOT EXISTS {name} (\n  {columns},\n  PRIMARY KEY ({key})\n)"]
        for position, index in enumerate(table.indexes, start=1):
            cols = ", ".join(self.quote(c) for c in index)
            statements.append(f"CREATE INDEX IF NOT EXISTS {self.quote(f'{table.name}_idx_{position}')} ON {name} ({cols})")
        if self.vendor == "postgresql" and table.comment:
            statements.append(f"COMMENT ON TABLE {name} IS '{table.comment.replace(chr(39), chr(39) * 2)}'")
        return statements

    def add_columns_sql(self, table: Table, columns: Sequence[Column]) -> list[str]:
        # Each engine adds one column per ALTER; new columns are nullable, so nothing is rewritten.
        return [f"ALTER TABLE {self.qualify(table.name)} ADD COLUMN {self.column_sql(c)}" for c in columns]

    def existing_columns(self, table_name: str) -> set[str] | None:
        if self.vendor == "sqlite":
            sql = "SELECT name FROM pragma_table_info(%s)"
        else:
            sql = "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = %s"
        with self.connection.cursor() as cursor:
            cursor.execute(sql, [table_name])
            names = {row[0] for row in cursor.fetchall()}
        return names or None

def utc_timestamp(raw: bytes) -> datetime | None:
    """A TIMESTAMP column as the driver hands it over: an aware UTC datetime, parsed in one step
    from the fixed format `sqlite_timestamp` writes (Django's converter gives a naive one, which
    every read then had to mark as UTC: a third of reading a large table)."""
    text = raw.decode()
    if len(text) == 26:
        try:
            return datetime.fromisoformat(text + "+00:00")
        except ValueError:
            pass
    value = parse_datetime(text)  # anything else, read as Django's converter reads it
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_timestamp(value: datetime) -> str:
    """'YYYY-MM-DD HH:MM:SS.ffffff' in UTC: sorts as text in time order."""
    if value.tzinfo is UTC:  # the usual case: no offset to work out, no copy to make
        return value.isoformat(" ", "microseconds")[:26]
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


SQLITE_TYPES = {"string": "TEXT", "bigint": "INTEGER", "double": "REAL", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP", "json": "TEXT"}
POSTGRES_TYPES = {"string": "TEXT", "bigint": "BIGINT", "double": "DOUBLE PRECISION", "boolean": "BOOLEAN", "timestamp": "TIMESTAMPTZ", "json": "TEXT"}
