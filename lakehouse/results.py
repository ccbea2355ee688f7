"""What every query returns, whatever the engine: rows as dicts, with a few conveniences."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from kernel.bulk import converted_rows


def _parse_timestamp(text: str) -> datetime | None:
    # fromisoformat reads the embedded engine's fixed format quickly; parse_datetime the rest.
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return parse_datetime(text)


def normalize_value(value: Any, kind: str | None = None) -> Any:
    """One Python type per SQL type on every engine: aware UTC datetimes, floats for doubles."""
    if kind == "timestamp" and isinstance(value, str):
        value = _parse_timestamp(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if kind == "double" and value is not None:
        return float(value)
    if kind == "bigint" and value is not None:
        return int(value)
    if kind == "boolean" and value is not None:
        return bool(value)
    if hasattr(value, "is_finite") and hasattr(value, "as_integer_ratio") and not isinstance(value, float):  # Decimal
        return float(value)
    return value


def _plain_timestamp(value: Any) -> datetime | None:
    # The embedded engine's converter hands over aware UTC datetimes (lakehouse.backends.sqlite.
    # utc_timestamp); a naive one is UTC too, and text is its fixed format.
    if value.__class__ is datetime:
        if value.tzinfo is UTC:
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
    if value.__class__ is str and len(value) == 26:
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            pass
    return normalize_value(value, "timestamp")


# For drivers that return only str, int, float, bytes and None: one converter per declared type,
# never called with None (NULL stays None).
_PLAIN = {"timestamp": _plain_timestamp, "double": float, "bigint": int, "boolean": bool}


class Results:
    """Rows of one statement. `.dicts()`, `.first()`, `.scalar()`, iteration, `.arrow()` where available."""

    def __init__(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, types: dict[str, str] | None = None, arrow=None,
                 plain: bool = False):
        """`plain`: the driver returns only str, int, float, bytes and None (SQLite), so columns
        without a declared type need no normalising; this is the hot path of every API read."""
        self.columns = list(columns)
        kinds = [(types or {}).get(column) for column in self.columns]
        converters = [(i, _PLAIN[kind]) for i, kind in enumerate(kinds) if kind in _PLAIN] if plain else []
        if plain and not converters:  # strings and JSON text need nothing
            self.rows = [tuple(row) for row in rows]
        elif plain:
            self.rows = converted_rows(rows, converters)
        else:
            self.rows = [tuple(normalize_value(v, k) for v, k in zip(row, kinds)) for row in rows]
        self._arrow = arrow

    def __iter__(self) -> Iterator[dict]:
        return iter(self.dicts())

    def __len__(self) -> int:
        return len(self.rows)

    def dicts(self) -> list[dict]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def first(self) -> dict | None:
        return dict(zip(self.columns, self.rows[0])) if self.rows else None

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows and self.rows[0] else None

    def arrow(self):
        """A pyarrow Table: the engine's own when it returned Arrow, else built from the rows."""
        if self._arrow is not None:
            return self._arrow
        import pyarrow as pa

        return pa.table({column: [row[i] for row in self.rows] for i, column in enumerate(self.columns)})
