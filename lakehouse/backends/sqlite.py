"""SQLite as the lakehouse: the Django connection's own file, for laptops and the test suite.

Timestamps are fixed-format UTC text (which sorts in time order) parsed back by a driver converter
registered for TIMESTAMP columns; reads skip Django's cursor wrapper (sqlite3 reads `:name` itself).
"""
from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from django.db import connections
from django.utils.dateparse import parse_datetime

from lakehouse.backends.embedded import EmbeddedEngine, EmbeddedFeatures, to_pyformat
from lakehouse.results import Results
from lakehouse.schema import Table

SQLITE_TYPES = {"string": "TEXT", "bigint": "INTEGER", "double": "REAL", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP", "json": "TEXT"}


class SQLiteFeatures(EmbeddedFeatures):
    pass


class SQLiteEngine(EmbeddedEngine):
    vendor = "sqlite"
    features = SQLiteFeatures()
    type_names = SQLITE_TYPES
    _columns_sql = "SELECT name FROM pragma_table_info(%s)"

    def __init__(self, alias: str = "default", connection=None):
        super().__init__(alias=alias, connection=connection)
        # After Django's own registration (done when its backend was imported): only the
        # lakehouse's tables declare TIMESTAMP columns (Django's fields are DATETIME).
        sqlite3.register_converter("timestamp", utc_timestamp)

    def _where(self) -> str:
        return self.connection.settings_dict["NAME"]

    # --- dialect ------------------------------------------------------------------------------
    def json_text(self, column: str, path: str) -> str:
        return f"json_extract({column}, {path})"

    def json_string(self, column: str, path: str) -> str:
        # json_extract gives 1/0 for true/false and a number for a number: spelled as text instead.
        return (f"(CASE json_type({column}, {path}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
                f"ELSE CAST(json_extract({column}, {path}) AS TEXT) END)")

    def utc_hour(self, column: str) -> str:
        return f"substr({column}, 1, 13)"  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC text (sqlite_timestamp)

    def epoch_seconds(self, column: str) -> str:
        # Whole seconds exactly, then the microseconds of the fixed format ('...HH:MM:SS.ffffff'):
        # julianday's fractions of a day would put a call at exactly N days on either side of N.
        return f"(CAST(strftime('%s', {column}) AS REAL) + CAST(substr({column}, 21, 6) AS REAL) / 1000000.0)"

    def month_day(self, column: str) -> str:
        return f"substr({column}, 6, 5)"

    def noindex(self, column: str) -> str:
        return f"+{column}"  # SQLite's documented way to keep a term from choosing an index

    def add_seconds(self, column: str, seconds: str) -> str:
        # In the stored format: whole seconds moved, the microseconds kept, so it compares as text.
        return f"(strftime('%Y-%m-%d %H:%M:%S', {column}, ({seconds}) || ' seconds') || substr({column}, 20, 7))"

    def floor(self, expression: str) -> str:
        # FLOOR is only in builds with the math functions; a cast truncates, corrected below zero.
        return f"(CAST({expression} AS INTEGER) - (({expression}) < CAST({expression} AS INTEGER)))"

    def bucket(self, expression: str) -> str:
        return f"cdp_bucket({expression})"  # lakehouse.functions, registered on each connection

    def json_array_has(self, column: str, value: str) -> str:
        return (f"EXISTS (SELECT 1 FROM json_each({column}) AS e WHERE e.type NOT IN ('null', 'object', 'array') "
                f"AND (CASE e.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(e.value AS TEXT) END) = {value})")

    def json_double(self, column: str, path: str) -> str:
        """A number, or a numeric string, as a double; anything else NULL (as TRY_CAST on Spark).
        A plain CAST would read 'n/a' as 0."""
        text = self.json_text(column, path)
        return (f"(CASE WHEN json_type({column}, {path}) IN ('integer', 'real') THEN CAST({text} AS REAL) "
                f"WHEN json_type({column}, {path}) = 'text' AND trim({text}) GLOB '*[0-9]*' "
                f"AND NOT trim({text}) GLOB '*[^0-9.eE+-]*' THEN CAST(trim({text}) AS REAL) END)")

    def adapt(self, value: Any) -> Any:
        # SQLite keeps timestamps as text; one fixed UTC format keeps them in order as strings.
        return sqlite_timestamp(value) if isinstance(value, datetime) else value

    def adapt_rows(self, table: Table, rows: list[tuple]) -> list:
        """Rows ready for executemany: timestamp columns become fixed-format UTC text (only those
        columns are touched; this is the hot path of every bulk load)."""
        positions = [i for i, c in enumerate(table.columns) if c.type == "timestamp"]
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
        _, names = to_pyformat(sql)
        values = self._values(names, params)
        for name, value in values.items():
            if isinstance(value, datetime):  # the only values adapt() changes
                values[name] = sqlite_timestamp(value)
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
