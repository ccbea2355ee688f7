"""How a Python value travels as a Databricks SQL parameter: the one table of types.

The Databricks engine sends each parameter typed by this table (databricks-sql-connector's native
parameters); the Spark engine binds the same types (`typed_markers`), so local Spark refuses what
a warehouse would. That is how the test tier caught `LIMIT :limit` with a BIGINT: Spark and
Databricks SQL both require an INT there (INVALID_LIMIT_LIKE_EXPRESSION.DATA_TYPE), and PySpark
on its own binds a small Python int as INT, hiding the difference.

Integers are INT when they fit in 32 bits and BIGINT beyond, as the connector itself infers them:
LIMIT and OFFSET take INT, and an INT compared with or cast to a BIGINT column widens losslessly.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from lakehouse.statements import MARKERS

INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def parameter_type(value: Any) -> str:
    """The SQL type `value` is sent as."""
    if value is None:
        return "VOID"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INT" if INT_MIN <= value <= INT_MAX else "BIGINT"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, datetime):
        return "TIMESTAMP"
    if isinstance(value, str):
        return "STRING"
    raise TypeError(f"no lakehouse parameter type for {type(value).__name__}")


def typed_markers(sql: str, params: dict[str, Any]) -> str:
    """Each `:name` marker as `CAST(:name AS <its type>)` (strings and NULLs as they are), so a
    Spark session binds what a warehouse would receive."""

    def replace(match: re.Match) -> str:
        literal, name = match.groups()
        if literal is not None or name not in params:
            return match.group(0)
        kind = parameter_type(params[name])
        return match.group(0) if kind in ("STRING", "VOID") else f"CAST(:{name} AS {kind})"

    return MARKERS.sub(replace, sql)
