"""One table of parameter types for the Databricks engine and the Spark tier, so local Spark
refuses what a warehouse would (a BIGINT in LIMIT, the defect every paged read had)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from databricks.sql.parameters.native import BigIntegerParameter, BooleanParameter, DoubleParameter, IntegerParameter

from lakehouse.backends.databricks import databricks_parameters
from lakehouse.backends.parameters import parameter_type, typed_markers
from lakehouse.errors import BadStatement

PAGE = "SELECT id FROM range(100) WHERE id >= :low ORDER BY id LIMIT :limit OFFSET :offset"


def test_the_table_of_types():
    assert [parameter_type(v) for v in (None, True, 5, -(2**31), 2**31, 1.5, "x", datetime(2026, 1, 1, tzinfo=UTC))] == [
        "VOID", "BOOLEAN", "INT", "INT", "BIGINT", "DOUBLE", "STRING", "TIMESTAMP"]
    with pytest.raises(TypeError):
        parameter_type(object())


def test_the_databricks_engine_sends_a_page_size_as_int():
    sent = {p.name: p for p in databricks_parameters({"limit": 50, "offset": 0, "big": 2**40, "flag": False, "x": 0.5})}
    assert isinstance(sent["limit"], IntegerParameter) and isinstance(sent["offset"], IntegerParameter)
    assert isinstance(sent["big"], BigIntegerParameter)
    assert isinstance(sent["flag"], BooleanParameter) and isinstance(sent["x"], DoubleParameter)


def test_markers_are_typed_outside_string_literals_only():
    sql = typed_markers("SELECT ':limit' AS s, :limit AS n, :name AS t, :gone AS g, x::string FROM t", {"limit": 5, "name": "a", "gone": None})
    assert sql == "SELECT ':limit' AS s, CAST(:limit AS INT) AS n, :name AS t, :gone AS g, x::string FROM t"


@pytest.mark.spark
def test_the_spark_tier_binds_what_the_warehouse_receives(spark_engine):
    rows = spark_engine.execute(PAGE, {"low": 10, "limit": 3, "offset": 2})
    assert [row["id"] for row in rows] == [12, 13, 14]
    # A BIGINT page size is what the warehouse refused (INVALID_LIMIT_LIKE_EXPRESSION.DATA_TYPE);
    # the Spark tier now refuses it too, where PySpark alone would have bound a small int as INT.
    with pytest.raises(BadStatement, match="INVALID_LIMIT_LIKE_EXPRESSION"):
        spark_engine.execute(PAGE, {"low": 0, "limit": 2**31, "offset": 0})
