"""The statements a journey tick compiles (calls loaded in a window passing event steps, a branch's
condition over given customers) give the same rows on every engine, and parse as Databricks SQL."""
from __future__ import annotations

from datetime import timedelta

import sqlglot

from segments.compiler import compile_holds_for, compile_matching_calls
from tests.lakehouse.dataset import BASE

STEPS = [{"event": "Order Completed", "where": [{"property": "revenue", "op": "gt", "value": 20}]},
         {"event": "Product Viewed", "where": []},
         {"event": "Home", "event_type": "page", "where": [{"property": "sku", "op": "in", "value": ["sku-0", "sku-4"]}]}]
CONDITION = {"any": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"},
                     {"type": "event", "event": "Order Completed", "count": {"op": "gte", "value": 2}}]}


def _rows(engine, compiled):
    rows = engine.execute(compiled.statement("test.journey_read"), compiled.params).dicts()
    return sorted(tuple(sorted((k, str(v)) for k, v in r.items() if k != "properties")) for r in rows)


def test_calls_loaded_in_a_window_passing_steps_agree_across_engines(all_engines):
    compiled = compile_matching_calls(STEPS, tenant_id="acme", loaded_after=BASE + timedelta(days=1), loaded_until=BASE + timedelta(days=4))
    answers = {name: _rows(engine, compiled) for name, engine in all_engines.items()}
    assert answers["sqlite"] and {r[-1][1] for r in answers["sqlite"]} >= {"0", "1"}  # rows of two steps at least
    assert all(rows == answers["sqlite"] for rows in answers.values()), answers
    sql = all_engines["sqlite"].render(compiled.statement("test.journey_read"))
    assert "loaded_at" in sql


def test_a_condition_over_given_customers_agrees_across_engines(all_engines):
    compiled = compile_holds_for(CONDITION, tenant_id="acme", now=BASE + timedelta(days=30), candidates=["c1", "c2", "c3", "c5", "zz"])
    answers = {name: _rows(engine, compiled) for name, engine in all_engines.items()}
    everyone = _rows(all_engines["sqlite"], compile_holds_for(CONDITION, tenant_id="acme", now=BASE + timedelta(days=30),
                                                                 candidates=[f"c{n}" for n in range(1, 7)]))
    assert answers["sqlite"] and len(answers["sqlite"]) < len(everyone) + 1
    assert ("cdp_id", "c4") not in {pair for row in answers["sqlite"] for pair in row}  # not a candidate
    assert all(rows == answers["sqlite"] for rows in answers.values()), answers


def test_the_journey_reads_parse_and_qualify_as_databricks_sql():
    from sqlglot.optimizer.qualify import qualify

    from tests.lakehouse.databricks_sql import databricks_engine
    from tests.lakehouse.test_databricks_sql import SCHEMA

    engine = databricks_engine()
    for compiled in (compile_matching_calls(STEPS, tenant_id="acme", loaded_after=BASE, loaded_until=BASE + timedelta(days=1)),
                     compile_holds_for(CONDITION, tenant_id="acme", now=BASE, candidates=["c1", "c2"])):
        sql, _ = engine.expand_lists(engine.render(compiled.statement("test.journey_read")), compiled.params)
        qualify(sqlglot.parse_one(sql, read="databricks"), schema=SCHEMA, dialect="databricks", catalog="main", db="cdp")
