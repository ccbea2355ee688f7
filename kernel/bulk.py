"""Many rows into (or updated in) one operational table in one `executemany`, for hot paths (a
journey tick's history, a campaign's outbox, the drain's outcomes) where the ORM's `bulk_create` spends most of its time preparing
each value through each field (measured: 6 of 9 seconds of a 20,000-instance tick).

Values are prepared once per column kind with the connection's own adapters (times, JSON), the
way the ORM would store them, so rows written here read back through the ORM unchanged.
`ignore_conflicts` skips rows a unique constraint already holds (`ON CONFLICT DO NOTHING`, on
SQLite and PostgreSQL alike). Model defaults are not applied: callers name every column.
`rows_insert_select` writes rows a query computes from another table's, without reading them.
`rows_read` is the other way: many rows out without the ORM's per-value converters."""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models.expressions import RawSQL


def _remembering(adapt: Callable) -> Callable:
    last = [object(), None]

    def adapted(value):
        if value is not last[0]:
            last[0], last[1] = value, adapt(value)
        return last[1]
    return adapted


def _adapter(field) -> Callable | None:
    kind = field.get_internal_type()
    ops = connection.ops  # looked up once: `connection` is a proxy, and each attribute read finds the thread's connection
    if kind == "DateTimeField":
        return _remembering(ops.adapt_datetimefield_value)
    if kind == "JSONField":  # rows often share one object (an empty response, a variant's variables): encoded once
        return _remembering(lambda value, encoder=field.encoder, adapt=ops.adapt_json_value: adapt(value, encoder))
    return None


def converted_rows(rows: Sequence[Sequence], converters: list[tuple[int, Callable]]) -> list[tuple]:
    """`rows` with `converters` ((column position, function)) applied to their columns' values,
    None left as it is; the other columns pass untouched, which is what makes it cheap."""
    if not converters:
        return [tuple(row) for row in rows]
    out = []
    for row in rows:
        row = list(row)
        for i, convert in converters:
            value = row[i]
            if value is not None:
                row[i] = convert(value)
        out.append(tuple(row))
    return out


def _prepared(rows: Sequence[Sequence], adapters: list[Callable | None]) -> list:
    """The rows with only the columns that need it adapted (most are passed as they are)."""
    width = len(adapters)
    for row in rows:
        if len(row) != width:
            raise ValueError(f"a row of {len(row)} values for {width} columns")
    return converted_rows(rows, [(i, adapt) for i, adapt in enumerate(adapters) if adapt is not None])


def rows_insert(model, columns: Sequence[str], rows: Sequence[Sequence], *, ignore_conflicts: bool = False, batch: int = 2000) -> int:
    """Insert `rows` (tuples in the order of `columns`, model field names) into `model`'s table;
    returns how many were written (fewer than given when conflicts were skipped)."""
    if not rows:
        return 0
    fields = [model._meta.get_field(name) for name in columns]
    adapters = [_adapter(f) for f in fields]
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})" + (" ON CONFLICT DO NOTHING" if ignore_conflicts else ""))
    prepared = _prepared(rows, adapters)  # (adapters remember their last value: a batch's rows mostly share one time)
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(prepared), batch):
            cursor.executemany(sql, prepared[start:start + batch])
            written += cursor.rowcount  # the sum over the rows, on sqlite3 and psycopg alike
    return written


def listed(values: Sequence[int]) -> RawSQL:
    """Many integer ids as one parameter, for `filter(id__in=listed(ids))`: a list given to `__in`
    becomes one placeholder per value, each prepared by the ORM (measured: a quarter of a journey
    tick over 200,000 instances) and bounded by the database's parameter limit."""
    values = [int(v) for v in values]
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (values,))
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(values),))


def rows_insert_select(model, queryset, columns: dict) -> int:
    """Insert one row into `model`'s table per row of `queryset`, each column (a model field name)
    the value of its expression (`F`, `Value`, functions) over that row: one INSERT ... SELECT, so
    no row passes through Python (a journey tick's history rows straight from its instances).
    A NULL constant must be typed (`Cast(Value(None), ...)`): PostgreSQL takes an untyped NULL
    in a subquery's select list as text. Returns how many were written."""
    aliases = {f"insert_{i}": expression for i, expression in enumerate(columns.values())}
    try:
        select, params = queryset.annotate(**aliases).values(*aliases).query.sql_with_params()
    except EmptyResultSet:
        return 0
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name).column for name in columns]
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f) for f in fields)}) "
           f"SELECT {', '.join(f'q.{quote(a)}' for a in aliases)} FROM ({select}) q")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def rows_update(model, columns: Sequence[str], rows: Sequence[Sequence], *, where: Sequence[str] = ("id",), batch: int = 2000) -> int:
    """Give each row its own new values in one `executemany` (`bulk_update` builds a CASE per
    column instead): `rows` are tuples of `columns`' new values followed by the values of the
    `where` fields that pick the row (all must match). Returns how many rows matched."""
    if not rows:
        return 0
    fields = [model._meta.get_field(name) for name in columns]
    keys = [model._meta.get_field(name) for name in where]
    quote = connection.ops.quote_name
    sql = (f"UPDATE {quote(model._meta.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in fields)} "
           f"WHERE {' AND '.join(f'{quote(f.column)} = %s' for f in keys)}")
    prepared = _prepared(rows, [_adapter(f) for f in fields + keys])
    matched = 0
    with connection.cursor() as cursor:
        for start in range(0, len(prepared), batch):
            cursor.executemany(sql, prepared[start:start + batch])
            matched += cursor.rowcount
    return matched


def _sqlite_datetime(value):
    # Django keeps an aware time on SQLite as naive UTC text ("2026-11-20 12:00:00[.ffffff]"),
    # which sqlite3's registered converters may already have parsed (naive still).
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _reader(field) -> Callable | None:
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        return _sqlite_datetime
    if kind == "JSONField":
        return lambda value, decoder=field.decoder: json.loads(value, cls=decoder) if isinstance(value, str) else value
    if kind == "BooleanField":
        return bool
    return None


def rows_read(queryset) -> list[tuple]:
    """The rows of a `values_list` queryset, for hot paths reading many rows (a tick's due
    instances): on SQLite, each time, JSON and yes/no column converted by one plain function
    instead of the ORM's converter chain (measured: most of the time of reading 200,000 rows);
    on other databases, the ORM's rows, whose drivers convert natively."""
    if connection.vendor != "sqlite" or not settings.USE_TZ:
        return [tuple(row) for row in queryset]
    compiler = queryset.query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # a filter no row can match (`__in` an empty list): Django runs no query either
        return []
    readers = [(i, reader) for i, (expression, _, _) in enumerate(compiler.select)
               if (reader := _reader(expression.output_field)) is not None]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return converted_rows(cursor.fetchall(), readers)
