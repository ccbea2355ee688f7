"""The Databricks SQL dialect shared by the Spark and Databricks engines: names, types, DDL, MERGE."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from lakehouse.errors import BadStatement
from lakehouse.schema import Column, Table
from lakehouse.statements import Statement, expand_list_params

NAME_PART = re.compile(r"^[A-Za-z0-9_]{1,255}$")
SPARK_TYPES = {"string": "STRING", "bigint": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP", "json": "STRING"}


def sql_string(text: str) -> str:
    """A Spark SQL string literal (for comments only; data always travels as parameters)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class SparkSqlDialect:
    """Mixed into engines that speak Databricks SQL."""

    type_names = SPARK_TYPES
    catalog: str
    schema: str
    table_format: str  # "delta" or "parquet"

    def quote(self, identifier: str) -> str:
        return f"`{identifier}`"

    def qualify(self, table_name: str) -> str:
        self._known_table(table_name)
        return f"{self.quote(self.catalog)}.{self.quote(self.schema)}.{self.quote(table_name)}"

    # --- tables for other tools (exports) ---------------------------------------------------
    def export_sql(self, location: tuple[str, str], name: str, select_sql: str, comment: str) -> list[str]:
        """The statements that make a table exactly a query's rows. On Delta one CREATE OR
        REPLACE: atomic (readers see the old rows or the new, never none) and the table keeps
        its history and grants; a parquet table (local Spark) is dropped and made again."""
        for part in (*location, name):
            if not NAME_PART.match(part):
                raise BadStatement("export", f"not a table name part: {part!r} (letters, digits and _ only)")
        schema = ".".join(self.quote(p) for p in location)
        target = f"{schema}.{self.quote(name)}"
        create = f"USING {self.table_format.upper()} COMMENT {sql_string(comment)} AS {select_sql}"
        if self.table_format == "delta":
            return [f"CREATE SCHEMA IF NOT EXISTS {schema}", f"CREATE OR REPLACE TABLE {target} {create}"]
        return [f"CREATE SCHEMA IF NOT EXISTS {schema}", f"DROP TABLE IF EXISTS {target}", f"CREATE TABLE {target} {create}"]

    def export_table(self, statement: Statement, params: Mapping[str, Any], *, location: tuple[str, str], name: str,
                     comment: str) -> int:
        select_sql, params = self.expand_lists(self.render(statement), params)
        for sql in self.export_sql(location, name, select_sql, comment):
            given = params if sql.endswith(select_sql) else {}
            self._guarded(f"export.{name}", lambda sql=sql, given=given: self._run(sql, given, {}))
        target = ".".join(self.quote(p) for p in (*location, name))
        return int(self._guarded(f"export.{name}", lambda: self._run(f"SELECT COUNT(*) AS n FROM {target}", {}, {"n": "bigint"})).first()["n"])

    def json_text(self, column: str, path: str) -> str:
        return f"get_json_object({column}, {path})"

    def expand_lists(self, sql: str, params: Mapping[str, Any], *, writes: bool = False) -> tuple[str, dict]:
        """In a read, a list of strings or integers travels as one JSON parameter, exploded in the
        statement: one marker however long the list (Databricks allows 255 markers a statement,
        which held `IN` lists to 200 values and a load's identity scope to many statements).
        Writes keep one marker per value: Delta limits subqueries in DELETE and MERGE conditions."""
        return expand_list_params(sql, params, as_one=None if writes else _json_list)

    def utc_hour(self, column: str) -> str:
        return f"date_format({column}, 'yyyy-MM-dd HH')"  # sessions run in UTC (spark.sql.session.timeZone, TIMEZONE)

    def epoch_seconds(self, column: str) -> str:
        return f"(CAST(unix_micros({column}) AS DOUBLE) / 1000000)"

    def add_seconds(self, column: str, seconds: str) -> str:
        return f"timestampadd(SECOND, CAST({seconds} AS BIGINT), {column})"

    def month_day(self, column: str) -> str:
        return f"date_format({column}, 'MM-dd')"

    def bucket(self, expression: str) -> str:
        return f"(CAST(conv(substr(md5({expression}), 1, 8), 16, 10) AS BIGINT) % 10000)"

    def json_array_has(self, column: str, value: str) -> str:
        return f"COALESCE(array_contains(from_json({column}, 'array<string>'), {value}), false)"

    def json_double(self, column: str, path: str) -> str:
        # ANSI mode (Spark 4, Databricks SQL) fails a plain CAST of 'n/a'; a junk value is NULL.
        return f"TRY_CAST({self.json_text(column, path)} AS DOUBLE)"

    def column_sql(self, column: Column) -> str:
        comment = f" COMMENT {sql_string(column.comment)}" if column.comment else ""
        not_null = " NOT NULL" if not column.nullable and self.table_format == "delta" else ""
        return f"{self.quote(column.name)} {self.type_names[column.type]}{not_null}{comment}"

    def create_table_sql(self, table: Table) -> list[str]:
        columns = ",\n  ".join(self.column_sql(c) for c in table.columns)
        clauses = [f"USING {self.table_format.upper()}"]
        if table.cluster_by and self.table_format == "delta":
            # Liquid clustering: the Delta answer to the embedded engines' indexes.
            clauses.append(f"CLUSTER BY ({', '.join(self.quote(c) for c in table.cluster_by)})")
        if table.comment:
            clauses.append(f"COMMENT {sql_string(table.comment)}")
        return [f"CREATE TABLE IF NOT EXISTS {self.qualify(table.name)} (\n  {columns}\n) " + " ".join(clauses)]

    def add_columns_sql(self, table: Table, columns: Sequence[Column]) -> list[str]:
        if not columns:
            return []
        return [f"ALTER TABLE {self.qualify(table.name)} ADD COLUMNS ({', '.join(self.column_sql(c) for c in columns)})"]

    def merge_sql(self, table: Table, source: str, *, newer: str | None, insert_only: bool = False,
                  ranges: Mapping[str, tuple[str, str]] | None = None) -> str:
        """MERGE a source (a table name or a parenthesised query aliased `s`) into the table.

        The join also matches the table's `merge_on` clustering columns, and `ranges` (column ->
        markers of its low and high bound) bounds the target by the source's span, so Delta reads
        the files that can hold the source's keys, not all the tenant's."""
        matched = [*table.key, *table.merge_on]
        on = " AND ".join(f"t.{self.quote(k)} = s.{self.quote(k)}" for k in matched)
        for name, (low, high) in (ranges or {}).items():
            on += f" AND t.{self.quote(name)} BETWEEN :{low} AND :{high}"
        columns = ", ".join(self.quote(c) for c in table.column_names)
        values = ", ".join(f"s.{self.quote(c)}" for c in table.column_names)
        parts = [f"MERGE INTO {self.qualify(table.name)} AS t", f"USING {source} AS s", f"ON {on}"]
        if not insert_only:
            condition = f" AND s.{self.quote(newer)} > t.{self.quote(newer)}" if newer else ""
            sets = ", ".join(f"t.{self.quote(c)} = s.{self.quote(c)}" for c in table.column_names if c not in table.key)
            parts.append(f"WHEN MATCHED{condition} THEN UPDATE SET {sets}")
        parts.append(f"WHEN NOT MATCHED THEN INSERT ({columns}) VALUES ({values})")
        return "\n".join(parts)

    def replace_where_sql(self, table: Table, where: str, select_sql: str) -> str:
        """Delta's atomic 'replace the rows matching a condition with these' (INSERT ... REPLACE WHERE).

        The select's columns must come in table order: REPLACE WHERE takes no column list."""
        return f"INSERT INTO {self.qualify(table.name)} REPLACE WHERE {where}\n{select_sql}"


def _json_list(marker: str, values: list) -> str | None:
    if all(isinstance(v, str) for v in values):
        kind = "string"
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        kind = "bigint"
    else:
        return None  # anything else keeps one marker per value
    return f"(SELECT explode(from_json(:{marker}, 'array<{kind}>')))"
