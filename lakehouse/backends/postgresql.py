"""PostgreSQL as the lakehouse: the Django connection's server (also Lakebase on Databricks)."""
from __future__ import annotations

from lakehouse.backends.embedded import EmbeddedEngine, EmbeddedFeatures
from lakehouse.schema import Table

POSTGRES_TYPES = {"string": "TEXT", "bigint": "BIGINT", "double": "DOUBLE PRECISION", "boolean": "BOOLEAN", "timestamp": "TIMESTAMPTZ",
                  "json": "TEXT"}


class PostgreSQLFeatures(EmbeddedFeatures):
    pass


class PostgreSQLEngine(EmbeddedEngine):
    vendor = "postgresql"
    features = PostgreSQLFeatures()
    type_names = POSTGRES_TYPES
    _columns_sql = "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = %s"

    def _where(self) -> str:
        settings = self.connection.settings_dict
        return f"{settings.get('HOST') or 'localhost'}/{settings['NAME']}"

    def json_text(self, column: str, path: str) -> str:
        keys = path.strip("'\"").removeprefix("$.").split(".")
        return f"(({column})::jsonb #>> '{{{','.join(keys)}}}')"

    def utc_hour(self, column: str) -> str:
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"

    def epoch_seconds(self, column: str) -> str:
        return f"CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION)"

    def add_seconds(self, column: str, seconds: str) -> str:
        return f"({column} + make_interval(secs => CAST({seconds} AS DOUBLE PRECISION)))"

    def month_day(self, column: str) -> str:
        return f"to_char({column} AT TIME ZONE 'UTC', 'MM-DD')"

    def bucket(self, expression: str) -> str:
        return f"(('x' || substr(md5({expression}), 1, 8))::bit(32)::bigint % 10000)"

    def json_array_has(self, column: str, value: str) -> str:
        return f"EXISTS (SELECT 1 FROM jsonb_array_elements_text(({column})::jsonb) AS e(v) WHERE e.v = {value})"

    def json_double(self, column: str, path: str) -> str:
        """A number, or a numeric string, as a double; anything else NULL (as TRY_CAST on Spark).
        A plain CAST would fail the statement."""
        text = self.json_text(column, path)
        return (f"(CASE WHEN {text} ~ '^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$' "
                f"THEN CAST({text} AS double precision) END)")

    def create_table_sql(self, table: Table) -> list[str]:
        statements = super().create_table_sql(table)
        if table.comment:
            statements.append(f"COMMENT ON TABLE {self.qualify(table.name)} IS '{table.comment.replace(chr(39), chr(39) * 2)}'")
        return statements
