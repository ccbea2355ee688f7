"""A definition's condition tree compiled to one set-based lakehouse statement.

The statement selects the cdp_ids of the tenant's customers (those with an identifier) for which
the tree holds. Each condition becomes `u.cdp_id IN (a subquery of the customers it holds for)`;
groups become AND, OR and NOT of those, so the whole audience is one query the engine plans as it
likes (no per-customer Python). Values travel as parameters (`:p0`, `:p1`, ...); only validated
names (property paths, by `definitions.PROPERTY`) are written into the text.

A condition type is one function registered in `COMPILERS`: a new one (messaging's "opened a
message") adds its function without touching the others.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lakehouse.statements import Statement
from segments.definitions import PROPERTY, _range_kind

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Compiled:
    sql: str
    params: dict = field(default_factory=dict)

    def statement(self, name: str = "segments.audience") -> Statement:
        return Statement(name=name, sql=self.sql)


@dataclass
class _Context:
    now: datetime
    params: dict = field(default_factory=dict)

    def param(self, value) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"


def compile_audience(tree: dict, *, tenant_id: str, now: datetime, limit: int | None = None) -> Compiled:
    """The statement selecting the audience (cdp_id, sorted), with its parameters. `limit` bounds
    it (a preview's sample)."""
    ctx = _Context(now=now, params={"tenant_id": tenant_id})
    where = _node(tree, ctx)
    sql = (f"SELECT u.cdp_id FROM (SELECT DISTINCT cdp_id FROM {{identities}} WHERE tenant_id = :tenant_id) AS u "
           f"WHERE {where} ORDER BY u.cdp_id")
    if limit is not None:
        sql += f" LIMIT {ctx.param(int(limit))}"
    return Compiled(sql=sql, params=ctx.params)


def compile_count(tree: dict, *, tenant_id: str, now: datetime) -> Compiled:
    """How many customers the tree holds for (one row; none for a tenant without customers)."""
    ctx = _Context(now=now, params={"tenant_id": tenant_id})
    where = _node(tree, ctx)
    sql = (f"SELECT COUNT(*) AS members FROM (SELECT DISTINCT cdp_id FROM {{identities}} WHERE tenant_id = :tenant_id) AS u "
           f"WHERE {where}")
    return Compiled(sql=sql, params=ctx.params)


def _node(tree: dict, ctx: _Context) -> str:
    if "all" in tree:
        return "(" + " AND ".join(_node(member, ctx) for member in tree["all"]) + ")"
    if "any" in tree:
        return "(" + " OR ".join(_node(member, ctx) for member in tree["any"]) + ")"
    if "not" in tree:
        return f"(NOT {_node(tree['not'], ctx)})"
    return COMPILERS[tree["type"]](tree, ctx)


def _in(subquery: str) -> str:
    return f"u.cdp_id IN ({subquery})"


def _not_in(subquery: str) -> str:
    return f"u.cdp_id NOT IN ({subquery})"


# --- traits -------------------------------------------------------------------------------------

_TRAITS = "SELECT cdp_id FROM {traits} WHERE tenant_id = :tenant_id AND key = %s AND "


def _trait(c: dict, ctx: _Context) -> str:
    op, value, key = c["op"], c.get("value"), ctx.param(c["key"])
    base = _TRAITS % key
    if op == "not_equals":
        return _not_in(base + _text_test("equals", value, "value", "number_value", ctx))
    if op == "missing":
        return _not_in(base + "(value IS NOT NULL OR value_type IS NOT NULL)")
    if op == "exists":
        return _in(base + "(value IS NOT NULL OR value_type IS NOT NULL)")
    if op in ("within_last_days", "more_than_days_ago", "in_next_days"):
        days = timedelta(days=int(value))
        if op == "within_last_days":
            test = f"time_value >= {ctx.param(ctx.now - days)} AND time_value <= {ctx.param(ctx.now)}"
        elif op == "more_than_days_ago":
            test = f"time_value < {ctx.param(ctx.now - days)}"
        else:
            test = f"time_value >= {ctx.param(ctx.now)} AND time_value <= {ctx.param(ctx.now + days)}"
        return _in(base + test)
    if op in ("gt", "gte", "lt", "lte", "between"):
        return _in(base + _range_test(op, value, "number_value", "time_value", ctx))
    return _in(base + _text_test(op, value, "value", "number_value", ctx))


def _text_test(op: str, value, text_col: str, number_col: str, ctx: _Context) -> str:
    """equals / in / contains / starts_with on a text column, or on the number column for numbers."""
    if op == "equals":
        if isinstance(value, bool):
            return f"{text_col} = {ctx.param('true' if value else 'false')}"
        if isinstance(value, (int, float)):
            return f"{number_col} = {ctx.param(float(value))}"
        return f"{text_col} = {ctx.param(value)}"
    if op == "in":
        texts = [v for v in value if isinstance(v, str)]
        numbers = [float(v) for v in value if isinstance(v, (int, float)) and not isinstance(v, bool)]
        tests = ([f"{text_col} IN {ctx.param(texts)}"] if texts else []) + ([f"{number_col} IN {ctx.param(numbers)}"] if numbers else [])
        return "(" + " OR ".join(tests) + ")"
    escaped = value.lower().replace("!", "!!").replace("%", "!%").replace("_", "!_")
    pattern = f"%{escaped}%" if op == "contains" else f"{escaped}%"
    return f"LOWER({text_col}) LIKE {ctx.param(pattern)} ESCAPE '!'"


def _range_test(op: str, value, number_col: str, time_col: str, ctx: _Context) -> str:
    values = value if op == "between" else [value]
    kind = _range_kind(values[0])
    column = number_col if kind == "number" else time_col
    operands = [float(v) if kind == "number" else datetime.fromisoformat(v.replace("Z", "+00:00")).astimezone(UTC) for v in values]
    if kind == "date":
        operands = [o if o.tzinfo else o.replace(tzinfo=UTC) for o in operands]
    if op == "between":
        return f"{column} >= {ctx.param(operands[0])} AND {column} <= {ctx.param(operands[1])}"
    symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
    return f"{column} {symbol} {ctx.param(operands[0])}"


# --- events -------------------------------------------------------------------------------------

_COUNT_SQL = {"gte": ">=", "gt": ">", "eq": "=", "lte": "<=", "lt": "<"}


def _count_holds(op: str, n: int, count: int) -> bool:
    return {"gte": count >= n, "gt": count > n, "eq": count == n, "lte": count <= n, "lt": count < n}[op]


def _event(c: dict, ctx: _Context) -> str:
    tests = [f"event = {ctx.param(c['event'])}", "cdp_id IS NOT NULL"]
    if c.get("event_type"):
        tests.append(f"type = {ctx.param(c['event_type'])}")
    if c.get("within_days"):
        tests.append(f"event_time >= {ctx.param(ctx.now - timedelta(days=int(c['within_days'])))}")
        tests.append(f"event_time <= {ctx.param(ctx.now)}")
    for f in c.get("where") or []:
        tests.append(_property_test(f, ctx))
    rule = c.get("count") or {}
    op, n = rule.get("op", "gte"), int(rule.get("value", 1))
    matching = f"SELECT cdp_id FROM {{events}} WHERE tenant_id = :tenant_id AND {' AND '.join(tests)} GROUP BY cdp_id"
    if _count_holds(op, n, 0):
        # Zero satisfies the rule, so customers without a matching call are in: everyone except
        # those whose count fails it ("not performed" is count eq 0).
        return _not_in(f"{matching} HAVING NOT (COUNT(*) {_COUNT_SQL[op]} {ctx.param(n)})")
    return _in(f"{matching} HAVING COUNT(*) {_COUNT_SQL[op]} {ctx.param(n)}")


def _property_test(f: dict, ctx: _Context) -> str:
    prop = f["property"]
    if not PROPERTY.match(prop):  # validated on save; never write anything else into the text
        raise ValueError(f"bad property name {prop!r}")
    path = f"'$.{prop}'"
    text, number = f"{{json_string(properties, {path})}}", f"{{json_double(properties, {path})}}"
    op, value = f["op"], f.get("value")
    if op == "exists":
        return f"{{json_text(properties, {path})}} IS NOT NULL"
    if op == "missing":
        return f"{{json_text(properties, {path})}} IS NULL"
    if op == "not_equals":
        return f"NOT ({_text_test('equals', value, text, number, ctx)}) AND {{json_text(properties, {path})}} IS NOT NULL"
    if op in ("gt", "gte", "lt", "lte", "between"):
        if _range_kind(value if op != "between" else value[0]) == "date":
            raise ValueError("date ranges on event properties are not supported yet")
        return _range_test(op, value, number, number, ctx)
    return _text_test(op, value, text, number, ctx)


# --- identifiers, consent, other segments -------------------------------------------------------

def _identifier(c: dict, ctx: _Context) -> str:
    return _in(f"SELECT cdp_id FROM {{identities}} WHERE tenant_id = :tenant_id AND id_type = {ctx.param(c['id_type'])}")


def _consent(c: dict, ctx: _Context) -> str:
    # The customer's decision for this channel, or for every channel ('*'), the newer winning.
    channel, purpose = ctx.param(c["channel"].strip().lower()), ctx.param(c["purpose"].strip().lower())
    latest = (f"SELECT cdp_id, granted, ROW_NUMBER() OVER (PARTITION BY cdp_id ORDER BY updated_at DESC, channel DESC) AS position "
              f"FROM {{consents}} WHERE tenant_id = :tenant_id AND purpose = {purpose} AND (channel = {channel} OR channel = '*')")
    return _in(f"SELECT cdp_id FROM ({latest}) AS d WHERE position = 1 AND granted = {ctx.param(bool(c.get('granted', True)))}")


def _segment(c: dict, ctx: _Context) -> str:
    return _in(f"SELECT cdp_id FROM {{segment_members}} WHERE tenant_id = :tenant_id AND segment_id = {ctx.param(int(c['segment_id']))}")


COMPILERS: dict[str, Callable[[dict, _Context], str]] = {
    "trait": _trait,
    "event": _event,
    "identifier": _identifier,
    "consent": _consent,
    "segment": _segment,
}
