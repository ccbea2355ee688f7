"""Is a piece of SQL a single read? Used by `manage.py lakehouse sql` without --write."""
from __future__ import annotations

import sqlglot
from sqlglot import exp

from lakehouse.errors import ReadOnlyViolation

_DIALECTS = {"sqlite": "sqlite", "postgresql": "postgres", "spark": "databricks", "databricks": "databricks"}
_READS = (exp.Select, exp.Union, exp.Describe, exp.Show, exp.Pragma)


def ensure_read_only(sql: str, vendor: str) -> None:
    try:
        statements = [s for s in sqlglot.parse(sql, read=_DIALECTS.get(vendor, "databricks")) if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise ReadOnlyViolation(f"Could not parse the statement to check it is read-only: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise ReadOnlyViolation("Send exactly one statement.")
    statement = statements[0]
    if not isinstance(statement, _READS) or any(isinstance(node, (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Drop, exp.Create, exp.Alter)) for node in statement.walk()):
        raise ReadOnlyViolation("Only SELECT, DESCRIBE and SHOW run without --write.")
