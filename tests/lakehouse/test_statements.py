"""Every named statement runs on every engine and gives the same answer."""
from __future__ import annotations

import math
import re

import pytest

from lakehouse.statements import STATEMENTS, Statement, StatementRegistry

NAMES = sorted(STATEMENTS)


def _normal(rows: list[dict]) -> list[dict]:
    def value(v):
        return round(v, 6) if isinstance(v, float) and math.isfinite(v) else v

    return [{k: value(v) for k, v in row.items()} for row in rows]


def _answer(engine, statement: Statement) -> list[dict]:
    """The statement's rows; in a canonical order when the statement promises none, since an
    unordered result's order is the engine's choice (Spark's differs with its plan)."""
    rows = _normal(engine.execute(statement, statement.example).dicts())
    if re.search(r"\bORDER\s+BY\b", statement.sql, re.IGNORECASE) is None:
        rows.sort(key=lambda row: repr(sorted(row.items())))
    return rows


@pytest.mark.parametrize("name", NAMES)
def test_statement_agrees_across_engines(name, all_engines):
    statement = STATEMENTS[name]
    answers = {engine_name: _answer(engine, statement) for engine_name, engine in all_engines.items()}
    reference = answers["sqlite"]
    assert reference, f"{name}: the example parameters match no data, so the comparison would prove nothing"
    for engine_name, rows in answers.items():
        assert rows == reference, f"{name} on {engine_name} differs from sqlite"


@pytest.mark.parametrize("name", NAMES)
def test_statement_sees_only_its_tenant(name, all_engines):
    statement = STATEMENTS[name]
    engine = all_engines["sqlite"]
    mine = engine.execute(statement, statement.example).dicts()
    theirs = engine.execute(statement, {**statement.example, "tenant_id": "other"}).dicts()
    nobody = engine.execute(statement, {**statement.example, "tenant_id": "no-such-tenant"}).dicts()
    assert nobody == []
    assert mine != theirs, f"{name} gives the same rows for two tenants whose data differ"


def test_timestamps_come_back_as_aware_utc_on_every_engine(all_engines):
    from customers.sql import CUSTOMER_TIMELINE

    for name, engine in all_engines.items():
        first = engine.execute(CUSTOMER_TIMELINE, CUSTOMER_TIMELINE.example).first()
        assert first["event_time"].utcoffset().total_seconds() == 0, name


def test_arrow_reads_the_same_rows_as_execute_on_every_engine(all_engines):
    """Bulk reads (a whole tenant's identity edges) come as Arrow: the same rows, times in UTC."""
    import pyarrow as pa

    from identity.sql import ALL_EDGES

    for name, engine in all_engines.items():
        table = engine.arrow(ALL_EDGES, ALL_EDGES.example)
        rows = engine.execute(ALL_EDGES, ALL_EDGES.example).dicts()
        assert table.column_names == list(rows[0]) and table.num_rows == len(rows) > 0, name
        times = table["first_seen_at"].cast(pa.timestamp("us", "UTC")).to_pylist()
        assert times == [row["first_seen_at"] for row in rows], name
        assert table["a_value"].to_pylist() == [row["a_value"] for row in rows], name
        assert engine.arrow(ALL_EDGES, {"tenant_id": "no-such-tenant"}).num_rows == 0, name


def test_registry_refuses_unscoped_statements():
    registry = StatementRegistry()
    with pytest.raises(ValueError, match="tenant_id"):
        registry.register(Statement(name="bad", sql="SELECT * FROM {events}"))


def test_unknown_placeholders_fail_loudly(all_engines):
    engine = all_engines["sqlite"]
    with pytest.raises(KeyError, match="evnts"):
        engine.execute(Statement(name="typo", sql="SELECT 1 FROM {evnts} WHERE tenant_id = :tenant_id"), {"tenant_id": "x"})


def test_long_lists_read_alike_on_every_engine_with_one_marker_on_spark_sql(all_engines):
    """Spark SQL engines send a read's list as one JSON parameter (Databricks allows 255 markers):
    a list far longer than that, with quotes and non-ASCII text in it, reads as on SQLite."""
    from identity.sql import IDENTITIES_BY_VALUES

    values = [f"nobody-{i}" for i in range(600)] + ["u1", "a2", "it's", "ærlig", "\\x"]
    params = {**IDENTITIES_BY_VALUES.example, "values": values}
    answers = {name: engine.execute(IDENTITIES_BY_VALUES, params).dicts() for name, engine in all_engines.items()}
    assert answers["sqlite"] and all(rows == answers["sqlite"] for rows in answers.values())
    spark = all_engines["spark"]
    sql, sent = spark.expand_lists(spark.render(IDENTITIES_BY_VALUES), params)
    assert set(sent) == {"tenant_id", "values_json"} and ":values_json" in sql
    # A write keeps one marker per value: Delta limits subqueries in DELETE and MERGE conditions.
    _, sent = spark.expand_lists("DELETE FROM t WHERE tenant_id = :tenant_id AND v IN :values", {"tenant_id": "x", "values": ["a", "b"]},
                                 writes=True)
    assert set(sent) == {"tenant_id", "values_0", "values_1"}


@pytest.mark.parametrize("sort", ["first_seen", "last_seen", "name"])
@pytest.mark.parametrize(("pattern", "key", "value"), [("", "", ""), ("%c%", "", ""), ("%example%", "plan", "pro"), ("", "plan", "pro")])
def test_the_customers_list_filters_and_sorts_alike_on_every_engine(all_engines, sort, pattern, key, value):
    """Every combination of search, trait filter and sort the console and API offer (the registry
    example covers one): same customers, same order, same count everywhere."""
    from customers.sql import CUSTOMER_COUNT, CUSTOMER_PAGE

    params = {"tenant_id": "acme", "pattern": pattern, "key": key, "value": value}
    answers = {name: (_normal(engine.execute(CUSTOMER_PAGE, {**params, "sort": sort, "limit": 50, "offset": 0}).dicts()),
                      engine.execute(CUSTOMER_COUNT, params).dicts())
               for name, engine in all_engines.items()}
    reference = answers["sqlite"]
    assert reference[0] and reference[1][0]["customers"] == len(reference[0])
    for name, answer in answers.items():
        assert answer == reference, f"{sort} {pattern!r} {key}={value} on {name}"
