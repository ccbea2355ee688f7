"""The SQL sent to Databricks: parsed by sqlglot as Databricks SQL and qualified against the schema
built from our own DDL; MERGE statements also analysed by local Spark, which resolves every name
and then refuses MERGE on plain tables (UNSUPPORTED_FEATURE), unless a name is wrong (UNRESOLVED_COLUMN)."""
from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify

from tests.lakehouse.databricks_sql import databricks_engine, ddl, merges, named, sample_row, writes

ENGINE = databricks_engine()


def schema_from_ddl(statements: list[str]) -> dict:
    """{catalog: {schema: {table: {column: type}}}} read back from the CREATE TABLE statements."""
    schema: dict = {}
    for sql in statements:
        create = sqlglot.parse_one(sql, read="databricks")
        assert isinstance(create, exp.Create), sql
        table = create.this.this
        columns = {c.name: c.args["kind"].sql("databricks") for c in create.this.expressions if isinstance(c, exp.ColumnDef)}
        schema.setdefault(table.catalog, {}).setdefault(table.db, {})[table.name] = columns
    return schema


SCHEMA = schema_from_ddl(ddl(ENGINE))
SENT = {**named(ENGINE), **writes(ENGINE)}


def test_ddl_declares_delta_tables_clustered_with_comments():
    for sql in ddl(ENGINE):
        assert "USING DELTA" in sql and "COMMENT" in sql
    events = next(sql for sql in ddl(ENGINE) if "`events`" in sql)
    assert "CLUSTER BY (`tenant_id`, `cdp_id`, `event_time`)" in events
    assert set(SCHEMA["main"]["cdp"]["events"]) >= {"tenant_id", "message_id", "event_time", "properties"}


@pytest.mark.parametrize("name", sorted(SENT))
def test_statement_parses_and_qualifies_as_databricks_sql(name):
    sql, _ = SENT[name]
    expression = sqlglot.parse_one(sql, read="databricks")
    for select in expression.find_all(exp.Select):
        # Every column of every SELECT must resolve to a table in the DDL's schema.
        qualify(select.copy(), schema=SCHEMA, dialect="databricks", validate_qualify_columns=True, catalog="main", db="cdp")
    for table in expression.find_all(exp.Table):
        if table.name and table.db:
            assert table.name in SCHEMA[table.catalog][table.db], f"{name}: unknown table {table.sql('databricks')}"


def test_qualification_catches_a_wrong_column():
    with pytest.raises(sqlglot.errors.OptimizeError):
        select = sqlglot.parse_one("SELECT no_such_column FROM main.cdp.events WHERE tenant_id = :t", read="databricks")
        qualify(select, schema=SCHEMA, dialect="databricks", validate_qualify_columns=True)


def test_parameters_stay_within_the_connector_limits():
    for name, (sql, params) in SENT.items():
        assert len(params) <= 255, name
        for marker in params:
            assert f":{marker}" in sql, f"{name}: parameter {marker} has no marker"


def refused_after_analysis(error) -> bool:
    """Spark resolved every name and then refused the operation on a plain table.

    Spark 4.0 (Databricks Runtime 17's, pinned here) refuses MERGE when planning, with
    "MERGE INTO TABLE is not supported temporarily"; later releases say
    UNSUPPORTED_FEATURE.TABLE_OPERATION. Either comes only after analysis succeeded."""
    condition = error.getCondition() or ""
    return condition.startswith("UNSUPPORTED_FEATURE.TABLE_OPERATION") or "MERGE INTO TABLE is not supported" in str(error)


@pytest.mark.spark
@pytest.mark.parametrize("name", sorted(merges(ENGINE)))
def test_merge_resolves_every_name_on_local_spark(name, all_engines):
    """Names resolve (so the statement is right for Delta), then plain tables refuse MERGE."""
    from pyspark.errors import PySparkException

    spark_engine = all_engines["spark"]
    local = databricks_engine(catalog=spark_engine.catalog, schema=spark_engine.schema)
    sql, params = merges(local)[name]
    with pytest.raises(PySparkException) as caught:
        spark_engine.session.sql(sql, args=params).collect()
    assert refused_after_analysis(caught.value), f"{name}: {caught.value.getCondition()}: {caught.value}"


@pytest.mark.spark
def test_a_merge_with_a_wrong_column_fails_differently_on_local_spark(all_engines):
    from pyspark.errors import AnalysisException

    spark_engine = all_engines["spark"]
    local = databricks_engine(catalog=spark_engine.catalog, schema=spark_engine.schema)
    sql, params = merges(local)["upsert.traits"]
    with pytest.raises(AnalysisException) as caught:
        spark_engine.session.sql(sql.replace("t.`value` = s.`value`", "t.`valeu` = s.`value`"), args=params).collect()
    assert (caught.value.getCondition() or "").startswith("UNRESOLVED_COLUMN")


@pytest.mark.spark
def test_rows_sent_as_one_json_parameter_land_with_their_types_on_local_spark(all_engines):
    """The warehouse engine's own INSERT (rows in one JSON parameter), run by Spark 4.0, the SQL of
    Databricks Runtime 17: every type comes back as written."""
    import uuid
    from datetime import UTC, datetime, timedelta, timezone

    from customers.tables import TRAITS

    spark_engine = all_engines["spark"]
    local = databricks_engine(catalog=spark_engine.catalog, schema=spark_engine.schema)
    tenant = f"json-rows-{uuid.uuid4().hex[:8]}"
    when = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    rows = [{**sample_row(TRAITS), "tenant_id": tenant, "key": f"k{i}", "value": value, "updated_at": when}
            for i, value in enumerate(["plain", "é ✓ \"quoted\" \\ back", None, "x" * 10_000])]
    [(sql, params)] = local.insert_statements(TRAITS, local.row_tuples(TRAITS, rows), skip_existing=False)
    spark_engine.session.sql(sql, args=params).collect()
    stored = {row["key"]: row for row in spark_engine.execute(
        f"SELECT * FROM {spark_engine.qualify('traits')} WHERE tenant_id = :tenant_id", {"tenant_id": tenant}).dicts()}
    assert [stored[f"k{i}"]["value"] for i in range(4)] == [r["value"] for r in rows]
    assert {stored[k]["updated_at"].replace(tzinfo=UTC) for k in stored} == {when.astimezone(UTC)}
    sample = sample_row(TRAITS)
    assert all(stored["k0"][c.name] == sample[c.name] for c in TRAITS.columns if c.name not in ("tenant_id", "key", "value", "updated_at"))
