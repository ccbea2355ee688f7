"""The embedded engines' shared part: a Django database connection (SQLite or PostgreSQL) used as
the lakehouse, as Django's own backends share `base/`.

Statements run inside Django's transactions, so an atomic block covers the operational database
and customer data together. `embedded_engine()` picks `sqlite.SQLiteEngine` or
`postgresql.PostgreSQLEngine` by the connection's vendor.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from django.db import DatabaseError, connections, transaction

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


class EmbeddedFeatures(BaseFeatures):
    transactional = True
    enforces_keys = True
    supports_indexes = True


def embedded_engine(alias: str = "default", connection=None) -> EmbeddedEngine:
    """The engine for a Django connection (by alias, or one outside Django's registry)."""
    vendor = (connection if connection is not None else connections[alias]).vendor
    if vendor == "sqlite":
        from lakehouse.backends.sqlite import SQLiteEngine as engine_class
    elif vendor == "postgresql":
        from lakehouse.backends.postgresql import PostgreSQLEngine as engine_class
    else:
        raise ValueError(f"no embedded lakehouse engine for a {vendor} database; use SQLite or PostgreSQL")
    return engine_class(alias=alias, connection=connection)


class EmbeddedEngine(Engine):
    features = EmbeddedFeatures()

    def __init__(self, alias: str = "default", connection=None):
        self.alias = alias
        self._connection = connection

    @property
    def connection(self):
        return self._connection if self._connection is not None else connections[self.alias]

    def location(self) -> str:
        return f"{self.vendor} (Django connection '{self.alias}': {self._where()})"

    def _where(self) -> str:
        raise NotImplementedError

    # --- running ------------------------------------------------------------------------------
    def _run(self, sql: str, params: dict, types: dict[str, str]) -> Results:
        text, names = to_pyformat(sql)
        with self.connection.cursor() as cursor:
            cursor.execute(text, self._values(names, params) if names else None)
            return self._results(cursor, types)

    @staticmethod
    def _values(names: tuple[str, ...], params: dict) -> dict:
        try:
            return {name: params[name] for name in names}
        except KeyError:
            raise BadStatement("<params>", f"missing parameters: {sorted(set(names) - set(params))}") from None

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
        return statements + self.create_indexes_sql(table, table.indexes)

    def create_indexes_sql(self, table: Table, indexes) -> list[str]:
        # An index is named by its position in the table's list, so a migrated one gets the name
        # a freshly created table gives it.
        out = []
        for index in indexes:
            position = table.indexes.index(tuple(index)) + 1
            cols = ", ".join(self.quote(c) for c in index)
            out.append(f"CREATE INDEX IF NOT EXISTS {self.quote(f'{table.name}_idx_{position}')} ON {self.qualify(table.name)} ({cols})")
        return out

    def add_columns_sql(self, table: Table, columns: Sequence[Column]) -> list[str]:
        # Each engine adds one column per ALTER; new columns are nullable, so nothing is rewritten.
        return [f"ALTER TABLE {self.qualify(table.name)} ADD COLUMN {self.column_sql(c)}" for c in columns]

    _columns_sql = ""  # the engine's catalogue query for a table's column names (one %s: the table)

    def existing_columns(self, table_name: str) -> set[str] | None:
        with self.connection.cursor() as cursor:
            cursor.execute(self._columns_sql, [table_name])
            names = {row[0] for row in cursor.fetchall()}
        return names or None

    def adapt_rows(self, table: Table, rows: list[tuple]) -> list:
        """Rows as executemany takes them (engines convert what their driver cannot)."""
        return rows
