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

import calendar
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lakehouse.statements import Statement
from segments.definitions import PROPERTY, _range_kind, expanded


@dataclass
class Compiled:
    sql: str
    params: dict = field(default_factory=dict)

    returns: dict = field(default_factory=dict)

    def statement(self, name: str = "segments.audience") -> Statement:
        return Statement(name=name, sql=self.sql, returns=self.returns)


@dataclass
class _Context:
    now: datetime
    params: dict = field(default_factory=dict)
    # An incremental refresh's candidates (a relation of cdp_ids): every condition's subquery
    # reads only their rows, so its cost follows the changes, not the tenant's size.
    within: str = ""

    def param(self, value) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def scoped(self, column: str = "cdp_id") -> str:
        return f" AND {column} IN ({self.within})" if self.within else ""

    def plain(self, column: str) -> str:
        """A column compared as it is, or, over candidates, kept from choosing an index: their rows
        are found by customer (SQLite plans without statistics would scan a name or a time range)."""
        return f"{{noindex({column})}}" if self.within else column


def compile_audience(tree: dict, *, tenant_id: str, now: datetime, limit: int | None = None) -> Compiled:
    """The statement selecting the audience (cdp_id, sorted), with its parameters. `limit` bounds
    it (a preview's sample)."""
    tree = expanded(tree)
    ctx = _Context(now=now, params={"tenant_id": tenant_id})
    sql = f"{_audience(tree, ctx)} ORDER BY u.cdp_id"
    if limit is not None:
        sql += f" LIMIT {ctx.param(int(limit))}"
    return Compiled(sql=sql, params=ctx.params)


def compile_count(tree: dict, *, tenant_id: str, now: datetime) -> Compiled:
    """How many customers the tree holds for (one row)."""
    tree = expanded(tree)
    ctx = _Context(now=now, params={"tenant_id": tenant_id})
    return Compiled(sql=f"SELECT COUNT(*) AS members FROM ({_audience(tree, ctx)}) AS a", params=ctx.params)


def _audience(tree: dict, ctx: _Context) -> str:
    """The customers (those with an identifier) the tree holds for, as `u.cdp_id`. When the tree,
    or one member of its top AND, is a plain positive condition, the audience is drawn from that
    condition's customers (a trait's index range, a group of calls) and the others test them;
    otherwise every customer is tested."""
    members = tree["all"] if "all" in tree else [tree]
    compiled = [_node(m, ctx) for m in members]
    driver = next((i for i, text in enumerate(compiled) if _single_in(text)), None)
    if driver is None:
        return (f"SELECT u.cdp_id FROM (SELECT DISTINCT cdp_id FROM {{identities}} WHERE tenant_id = :tenant_id{ctx.scoped()}) AS u "
                f"WHERE {' AND '.join(compiled)}")
    source = compiled[driver][len(_IN):-1]
    # Each of the driver's customers is looked up among the live ones (`IN` a list of every
    # customer of the tenant was built in full first: most of a small segment's refresh).
    live = "EXISTS (SELECT 1 FROM {identities} AS live WHERE live.tenant_id = :tenant_id AND live.cdp_id = u.cdp_id)"
    tests = [live, *(text for i, text in enumerate(compiled) if i != driver)]
    return f"SELECT DISTINCT u.cdp_id FROM ({source}) AS u WHERE {' AND '.join(tests)}"


_IN = "u.cdp_id IN ("


def _single_in(text: str) -> bool:
    """Whether a compiled condition is exactly `u.cdp_id IN (subquery)`."""
    if not text.startswith(_IN) or not text.endswith(")"):
        return False
    depth, quote = 0, False
    for position in range(len(_IN) - 1, len(text)):
        char = text[position]
        if char == "'":
            quote = not quote
        elif not quote and char in "()":
            depth += 1 if char == "(" else -1
            if depth == 0:
                return position == len(text) - 1
    return False


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

def _traits(ctx: _Context, key: str) -> str:
    return f"SELECT cdp_id FROM {{traits}} WHERE tenant_id = :tenant_id AND {ctx.plain('key')} = {key}{ctx.scoped()} AND "


def _trait(c: dict, ctx: _Context) -> str:
    op, value, key = c["op"], c.get("value"), ctx.param(c["key"])
    base = _traits(ctx, key)
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
    if op == "anniversary_in_next_days":
        return _in(base + f"time_value IS NOT NULL AND {{month_day(time_value)}} IN {ctx.param(anniversary_days(ctx.now, int(value)))}")
    if op == "includes":
        # Elements compare as text (a number as written); anything but an array does not include.
        # The table is aliased: inside the array's rows (SQLite's json_each) a bare `value` is the element's.
        return _in(f"SELECT t.cdp_id FROM {{traits}} AS t WHERE t.tenant_id = :tenant_id AND t.key = {key}{ctx.scoped('t.cdp_id')} AND "
                   f"(CASE WHEN t.value_type = 'array' THEN {{json_array_has(t.value, {ctx.param(str(value))})}} ELSE FALSE END)")
    return _in(base + _text_test(op, value, "value", "number_value", ctx))


def anniversary_days(now: datetime, days: int) -> list[str]:
    """The UTC month-days ('MM-DD') from now's date to `days` later. A 29 February anniversary
    falls on 28 February in other years."""
    today = now.astimezone(UTC).date()
    found = set()
    for i in range(days + 1):
        day = today + timedelta(days=i)
        found.add(day.strftime("%m-%d"))
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            found.add("02-29")
    return sorted(found)


_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def held_encodings(value) -> list[str]:
    """How the profile change log writes a value (compact JSON; a whole number either way)."""
    if isinstance(value, bool) or isinstance(value, str):
        return [_DUMPS(value)]
    if float(value).is_integer():
        return sorted({_DUMPS(int(value)), _DUMPS(float(value))})
    return [_DUMPS(value)]


def _trait_held(c: dict, ctx: _Context) -> str:
    """The trait equals the value now, every write of it in the last N days set that value, and the
    last write before them did too: it has held the value for at least N days."""
    key, cut, encodings = ctx.param(c["key"]), ctx.param(ctx.now - timedelta(days=int(c["days"]))), ctx.param(held_encodings(c["value"]))
    now = _in(_traits(ctx, key) + _text_test("equals", c["value"], "value", "number_value", ctx))
    changes = f"FROM {{profile_changes}} WHERE tenant_id = :tenant_id AND {ctx.plain('key')} = {key}{ctx.scoped()}"
    before = (f"SELECT cdp_id, action, value, ROW_NUMBER() OVER (PARTITION BY cdp_id ORDER BY event_time DESC, changed_at DESC, "
              f"change_id DESC) AS position {changes} AND event_time <= {cut}")
    held_then = _in(f"SELECT cdp_id FROM ({before}) AS h WHERE position = 1 AND action = 'set' AND value IN {encodings}")
    broken = _not_in(f"SELECT cdp_id {changes} AND event_time > {cut} AND (action <> 'set' OR value IS NULL OR value NOT IN {encodings})")
    return f"({now} AND {held_then} AND {broken})"


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


def _step_tests(step: dict, ctx: _Context, alias: str = "") -> list[str]:
    """The tests a call passes to be one of a step's calls (name, type, property filters)."""
    a = f"{alias}." if alias else ""
    tests = [f"{a}tenant_id = :tenant_id", f"{a}event = {ctx.param(step['event'])}", f"{a}cdp_id IS NOT NULL"]
    if ctx.within:
        # Over an incremental refresh's candidates: their calls of that name by the (customer,
        # name, time) index, not every call of that name. (`IN` implies not NULL: a range on
        # cdp_id there made SQLite walk the index in customer order instead of probing it.)
        tests[2] = f"{a}cdp_id IN ({ctx.within})"
    if step.get("event_type"):
        tests.append(f"{a}type = {ctx.param(step['event_type'])}")
    tests += [_property_test(f, ctx, f"{a}properties") for f in step.get("where") or []]
    return tests


def _window_tests(c: dict, ctx: _Context, alias: str = "") -> list[str]:
    a = f"{alias}." if alias else ""
    if c.get("within_days"):
        column = ctx.plain(f"{a}event_time")
        return [f"{column} >= {ctx.param(ctx.now - timedelta(days=int(c['within_days'])))}", f"{column} <= {ctx.param(ctx.now)}"]
    if c.get("between"):
        low, high = (_as_time(v) for v in c["between"])
        column = ctx.plain(f"{a}event_time")
        return [f"{column} >= {ctx.param(low)}", f"{column} <= {ctx.param(high)}"]
    return []


def _as_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _time_test(test: dict, column: str, ctx: _Context) -> str:
    op, value = test["op"], test["value"]
    if op == "within_last_days":
        return f"{column} >= {ctx.param(ctx.now - timedelta(days=int(value)))} AND {column} <= {ctx.param(ctx.now)}"
    if op == "more_than_days_ago":
        return f"{column} < {ctx.param(ctx.now - timedelta(days=int(value)))}"
    return f"{column} {'<' if op == 'before' else '>'} {ctx.param(_as_time(value))}"


def _event(c: dict, ctx: _Context) -> str:
    tests = " AND ".join(_step_tests(c, ctx) + _window_tests(c, ctx))
    rule = c.get("count") or {}
    op, n = rule.get("op", "gte"), int(rule.get("value", 1))
    matching = f"SELECT cdp_id FROM {{events}} WHERE {tests} GROUP BY cdp_id"
    if _count_holds(op, n, 0):
        # Zero satisfies the rule, so customers without a matching call are in: everyone except
        # those whose count fails it ("not performed" is count eq 0). Validation refuses first,
        # last and last_where here (they need a call).
        return _not_in(f"{matching} HAVING NOT (COUNT(*) {_COUNT_SQL[op]} {ctx.param(n)})")
    if c.get("last_where") and (op, n) == ("gte", 1) and not c.get("first"):
        # Only the last call matters: one pass picks it per customer and tests it.
        latest = (f"SELECT cdp_id, properties, event_time, ROW_NUMBER() OVER (PARTITION BY cdp_id ORDER BY event_time DESC, "
                  f"message_id DESC) AS position FROM {{events}} WHERE {tests}")
        filters = [_property_test(f, ctx) for f in c["last_where"]] + ([_time_test(c["last"], "event_time", ctx)] if c.get("last") else [])
        return _in(f"SELECT cdp_id FROM ({latest}) AS l WHERE position = 1 AND {' AND '.join(filters)}")
    having = [f"COUNT(*) {_COUNT_SQL[op]} {ctx.param(n)}"]
    if c.get("first"):
        having.append(_time_test(c["first"], "MIN(event_time)", ctx))
    if c.get("last"):
        having.append(_time_test(c["last"], "MAX(event_time)", ctx))
    condition = _in(f"{matching} HAVING {' AND '.join(having)}")
    if c.get("last_where"):
        # The last matching call (ties by message id, as the reference does) must pass these too.
        latest = (f"SELECT cdp_id, properties, ROW_NUMBER() OVER (PARTITION BY cdp_id ORDER BY event_time DESC, message_id DESC) "
                  f"AS position FROM {{events}} WHERE {tests}")
        filters = " AND ".join(_property_test(f, ctx) for f in c["last_where"])
        condition = f"({condition} AND {_in(f'SELECT cdp_id FROM ({latest}) AS l WHERE position = 1 AND {filters}')})"
    return condition


def _sequence(c: dict, ctx: _Context) -> str:
    first = _step_tests(c["first"], ctx, "a") + _window_tests(c, ctx, "a")
    span = timedelta(hours=int(c["within_hours"]))
    # The second call's time as a range from the first's: the (customer, time) index applies.
    then = [f"{{noindex(b.event)}} = {ctx.param(c['then']['event'])}" if t.startswith("b.event = ") else t
            for t in _step_tests(c["then"], ctx, "b") if not t.startswith("b.cdp_id IN")]  # the (customer, time) index, not the name's
    follow = " AND ".join([*then, "b.cdp_id = a.cdp_id", "b.event_time > a.event_time",
                           f"b.event_time <= {{add_seconds(a.event_time, {ctx.param(int(span.total_seconds()))})}}"])
    if c.get("then_missing"):
        # Only a first call whose window has closed counts: until then, the second may still come.
        closed = f"{ctx.plain('a.event_time')} <= {ctx.param(ctx.now - span)}"
        return _in(f"SELECT a.cdp_id FROM {{events}} AS a WHERE {' AND '.join(first)} AND {closed} "
                   f"AND NOT EXISTS (SELECT 1 FROM {{events}} AS b WHERE {follow})")
    return _in(f"SELECT a.cdp_id FROM {{events}} AS a WHERE {' AND '.join(first)} AND EXISTS (SELECT 1 FROM {{events}} AS b WHERE {follow})")


_UNIT_SECONDS = {"day": 86_400, "week": 7 * 86_400}


def _regular(c: dict, ctx: _Context) -> str:
    """Active in at least K of the last M days (or weeks): periods counted back from the clock, so
    period 0 is the last 24 hours (7 days) before it."""
    unit = _UNIT_SECONDS[c.get("unit", "day")]
    start = ctx.param(ctx.now - timedelta(seconds=unit * int(c["of_last"])))
    period = f"{{age_bucket(event_time, {ctx.param(ctx.now.timestamp())}, {ctx.param(float(unit))})}}"
    at = ctx.plain("event_time")
    tests = " AND ".join([*_step_tests(c, ctx), f"{at} > {start}", f"{at} <= {ctx.param(ctx.now)}"])
    return _in(f"SELECT cdp_id FROM {{events}} WHERE {tests} GROUP BY cdp_id HAVING COUNT(DISTINCT {period}) >= {ctx.param(int(c['at_least']))}")


def _lapsed(c: dict, ctx: _Context) -> str:
    """Performed before, but not in the last N days (nor since)."""
    cut = ctx.param(ctx.now - timedelta(days=int(c["days"])))
    tests = " AND ".join(_step_tests(c, ctx))
    return _in(f"SELECT cdp_id FROM {{events}} WHERE {tests} GROUP BY cdp_id HAVING MAX(event_time) < {cut}")


def _property_test(f: dict, ctx: _Context, column: str = "properties") -> str:
    prop = f["property"]
    if not PROPERTY.match(prop):  # validated on save; never write anything else into the text
        raise ValueError(f"bad property name {prop!r}")
    path = f"'$.{prop}'"
    text, number = f"{{json_string({column}, {path})}}", f"{{json_double({column}, {path})}}"
    op, value = f["op"], f.get("value")
    if op == "exists":
        return f"{{json_text({column}, {path})}} IS NOT NULL"
    if op == "missing":
        return f"{{json_text({column}, {path})}} IS NULL"
    if op == "not_equals":
        return f"NOT ({_text_test('equals', value, text, number, ctx)}) AND {{json_text({column}, {path})}} IS NOT NULL"
    if op in ("gt", "gte", "lt", "lte", "between"):
        return _range_test(op, value, number, number, ctx)
    return _text_test(op, value, text, number, ctx)


# --- identifiers, consent, other segments -------------------------------------------------------

def _identifier(c: dict, ctx: _Context) -> str:
    return _in(f"SELECT cdp_id FROM {{identities}} WHERE tenant_id = :tenant_id AND id_type = {ctx.param(c['id_type'])}{ctx.scoped()}")


def _consent(c: dict, ctx: _Context) -> str:
    # The customer's decision for this channel, or for every channel ('*'), the newer winning.
    channel, purpose = ctx.param(c["channel"].strip().lower()), ctx.param(c["purpose"].strip().lower())
    latest = (f"SELECT cdp_id, granted, ROW_NUMBER() OVER (PARTITION BY cdp_id ORDER BY updated_at DESC, channel DESC) AS position "
              f"FROM {{consents}} WHERE tenant_id = :tenant_id AND purpose = {purpose} AND (channel = {channel} OR channel = '*')"
              f"{ctx.scoped()}")
    return _in(f"SELECT cdp_id FROM ({latest}) AS d WHERE position = 1 AND granted = {ctx.param(bool(c.get('granted', True)))}")


def _bucket(c: dict, ctx: _Context) -> str:
    """A deterministic share of customers: the bucket (0-9999) of tenant, salt and cdp_id."""
    seed = ctx.param(f"{ctx.params['tenant_id']}:{c['salt']}:")
    low, high = round(float(c.get("from_percent", 0)) * 100), round(float(c["to_percent"]) * 100)
    bucket = f"{{bucket({seed} || u.cdp_id)}}"
    return f"({bucket} >= {ctx.param(low)} AND {bucket} < {ctx.param(high)})"


def _segment(c: dict, ctx: _Context) -> str:
    return _in(f"SELECT cdp_id FROM {{segment_members}} WHERE tenant_id = :tenant_id AND segment_id = {ctx.param(int(c['segment_id']))}"
               f"{ctx.scoped()}")


COMPILERS: dict[str, Callable[[dict, _Context], str]] = {
    "trait": _trait,
    "trait_held": _trait_held,
    "event": _event,
    "sequence": _sequence,
    "regular": _regular,
    "lapsed": _lapsed,
    "bucket": _bucket,
    "identifier": _identifier,
    "consent": _consent,
    "segment": _segment,
}


# --- explanations --------------------------------------------------------------------------------

def leaves(tree: dict, path: str = "$") -> list[tuple[str, dict]]:
    """The conditions of a tree with their JSON paths, in order."""
    if "all" in tree or "any" in tree:
        key = "all" if "all" in tree else "any"
        return [leaf for i, member in enumerate(tree[key]) for leaf in leaves(member, f"{path}.{key}[{i}]")]
    if "not" in tree:
        return leaves(tree["not"], f"{path}.not")
    return [(path, tree)]


def compile_leaves(tree: dict, *, tenant_id: str, cdp_id: str, now: datetime) -> Compiled:
    """One statement naming (`leaf`, its position in `leaves`) each condition that holds for one customer."""
    tree = expanded(tree)
    ctx = _Context(now=now, params={"tenant_id": tenant_id, "cdp_id": cdp_id})
    one = "(SELECT DISTINCT cdp_id FROM {identities} WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id) AS u"
    branches = [f"SELECT {i} AS leaf FROM {one} WHERE {COMPILERS[c['type']](c, ctx)}" for i, (_, c) in enumerate(leaves(tree))]
    return Compiled(sql=" UNION ALL ".join(branches), params=ctx.params)


_FACT = "SELECT {leaf} AS leaf, '{fact}' AS fact, {calls} AS calls, {first} AS first_at, {last} AS last_at, {value} AS value"
_NO = {"calls": "{null(bigint)}", "first": "{null(timestamp)}", "last": "{null(timestamp)}", "value": "{null(string)}"}
FACT_TYPES = {"leaf": "bigint", "calls": "bigint", "first_at": "timestamp", "last_at": "timestamp"}


def _fact(leaf: int, fact: str, rest: str, **columns) -> str:
    return _FACT.format(leaf=leaf, fact=fact, **{**_NO, **columns}) + " " + rest


def _calls_fact(leaf: int, fact: str, tests: list[str]) -> str:
    return _fact(leaf, fact, f"FROM {{events}} WHERE {' AND '.join([*tests, 'cdp_id = :cdp_id'])}", calls="COUNT(*)",
                 first="MIN(event_time)", last="MAX(event_time)")


def _trait_fact(leaf: int, key: str) -> str:
    return _fact(leaf, "trait", f"FROM {{traits}} WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id AND key = {key}",
                 first="time_value", last="updated_at", value="value")


def _facts_of(leaf: int, c: dict, ctx: _Context) -> list[str]:
    """What the explanation shows of a condition for one customer: the values it was decided on."""
    kind = c["type"]
    if kind == "trait":
        return [_trait_fact(leaf, ctx.param(c["key"]))]
    if kind == "trait_held":
        key = ctx.param(c["key"])
        return [_trait_fact(leaf, key),
                _fact(leaf, "writes", f"FROM {{profile_changes}} WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id AND key = {key}",
                      calls="COUNT(*)", first="MIN(event_time)", last="MAX(event_time)")]
    if kind == "event":
        tests = _step_tests(c, ctx) + _window_tests(c, ctx)
        facts = [_calls_fact(leaf, "calls", tests)]
        if c.get("last_where"):
            latest = (f"SELECT event_time, properties, ROW_NUMBER() OVER (ORDER BY event_time DESC, message_id DESC) AS position "
                      f"FROM {{events}} WHERE {' AND '.join([*tests, 'cdp_id = :cdp_id'])}")
            facts.append(_fact(leaf, "last_call", f"FROM ({latest}) AS l WHERE position = 1", last="event_time", value="properties"))
        return facts
    if kind == "sequence":
        return [_calls_fact(leaf, "first", _step_tests(c["first"], ctx) + _window_tests(c, ctx)),
                _calls_fact(leaf, "then", _step_tests(c["then"], ctx))]
    if kind == "regular":
        unit = _UNIT_SECONDS[c.get("unit", "day")]
        start = ctx.param(ctx.now - timedelta(seconds=unit * int(c["of_last"])))
        tests = [*_step_tests(c, ctx), f"event_time > {start}", f"event_time <= {ctx.param(ctx.now)}", "cdp_id = :cdp_id"]
        period = f"{{age_bucket(event_time, {ctx.param(ctx.now.timestamp())}, {ctx.param(float(unit))})}}"
        return [_calls_fact(leaf, "calls", tests[:-1]),
                _fact(leaf, "periods", f"FROM {{events}} WHERE {' AND '.join(tests)}", calls=f"COUNT(DISTINCT {period})")]
    if kind == "lapsed":
        return [_calls_fact(leaf, "calls", _step_tests(c, ctx))]
    if kind == "identifier":
        return [_fact(leaf, "identifiers", f"FROM {{identities}} WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id "
                                           f"AND id_type = {ctx.param(c['id_type'])}", calls="COUNT(*)", first="MIN(first_seen_at)",
                      last="MAX(last_seen_at)")]
    if kind == "consent":
        channel, purpose = ctx.param(c["channel"].strip().lower()), ctx.param(c["purpose"].strip().lower())
        latest = (f"SELECT channel, granted, updated_at, ROW_NUMBER() OVER (ORDER BY updated_at DESC, channel DESC) AS position "
                  f"FROM {{consents}} WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id AND purpose = {purpose} "
                  f"AND (channel = {channel} OR channel = '*')")
        return [_fact(leaf, "consent", f"FROM ({latest}) AS d WHERE position = 1", last="updated_at",
                      value="CASE WHEN granted THEN 'granted' ELSE 'denied' END || ' for ' || channel")]
    if kind == "segment":
        return [_fact(leaf, "member", f"FROM {{segment_members}} WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id "
                                      f"AND segment_id = {ctx.param(int(c['segment_id']))}", last="entered_at")]
    return []  # bucket: worked out in Python (lakehouse.functions.bucket), no read


def compile_facts(tree: dict, *, tenant_id: str, cdp_id: str, now: datetime) -> Compiled | None:
    """One statement of the values each condition was decided on for one customer (leaf, fact,
    calls, first_at, last_at, value), or None when no condition reads any."""
    tree = expanded(tree)
    ctx = _Context(now=now, params={"tenant_id": tenant_id, "cdp_id": cdp_id})
    branches = [sql for i, (_, c) in enumerate(leaves(tree)) for sql in _facts_of(i, c, ctx)]
    return Compiled(sql=" UNION ALL ".join(branches), params=ctx.params, returns=FACT_TYPES) if branches else None


# --- refreshes: the changes to the stored members, in SQL ---------------------------------------

@dataclass(frozen=True)
class Changes:
    """What an incremental refresh re-evaluates: customers whose data was written since `since`
    (the previous refresh's start, less an overlap for writes committed late), and those whose
    time-relative conditions can have flipped as the clock moved from `t0` (its clock) to now."""

    since: datetime
    t0: datetime
    # The refreshes and edits of the segments it names whose membership changes the previous
    # refresh may not have seen (segments.services._plan).
    segment_runs: tuple[int, ...] = ()


def compile_refresh(tree: dict, *, tenant_id: str, segment_id: int, now: datetime, changes: Changes | None = None) -> Compiled:
    """The entries and exits (cdp_id, change) that make the stored members equal the audience at
    `now`: over everyone (a full refresh), or over the candidates of `changes` (incremental)."""
    tree = expanded(tree)
    ctx = _Context(now=now, params={"tenant_id": tenant_id, "segment_id": segment_id})
    return Compiled(sql=f"{_differences(tree, ctx, changes)} SELECT cdp_id, change FROM differences", params=ctx.params)


def compile_refresh_log(tree: dict, *, tenant_id: str, segment_id: int, run_id: int, now: datetime,
                        changes: Changes | None = None) -> Compiled:
    """`compile_refresh`'s entries and exits written straight into the membership log by the
    engine (no row passes through Python): one statement however many customers move. Each
    row's change_id is the run and the customer, unique and the same if the run is replayed."""
    tree = expanded(tree)
    ctx = _Context(now=now, params={"tenant_id": tenant_id, "segment_id": segment_id})
    ctes = _differences(tree, ctx, changes)
    ctx.params.update(run_key=f"{run_id}:", run_id=run_id, changed_at=now)
    sql = ("INSERT INTO {segment_membership_log} (tenant_id, change_id, segment_id, cdp_id, change, changed_at, run_id) "
           f"{ctes} SELECT :tenant_id, :run_key || cdp_id, :segment_id, cdp_id, change, :changed_at, :run_id FROM differences")
    return Compiled(sql=sql, params=ctx.params)


def _differences(tree: dict, ctx: _Context, changes: Changes | None) -> str:
    """`WITH ...` ending in `differences (cdp_id, change)`: the audience against the stored members."""
    ctes, within = [], ""
    if changes is not None:
        ctes.append(f"candidates AS ({candidates(tree, ctx, changes)})")
        within = " AND cdp_id IN (SELECT cdp_id FROM candidates)"
        ctx.within = "SELECT cdp_id FROM candidates"
    ctes.append(f"audience AS ({_audience(tree, ctx)})")
    ctes.append(f"stored AS (SELECT cdp_id FROM {{segment_members}} WHERE tenant_id = :tenant_id AND segment_id = :segment_id{within})")
    ctes.append("differences AS (SELECT cdp_id, 'entered' AS change FROM audience WHERE cdp_id NOT IN (SELECT cdp_id FROM stored) "
                "UNION ALL SELECT cdp_id, 'exited' AS change FROM stored WHERE cdp_id NOT IN (SELECT cdp_id FROM audience))")
    return f"WITH {', '.join(ctes)}"


# Condition types whose inputs every change of leaves in the logs `candidates` reads besides the
# calls: traits (the profile change log, computed traits by their write time), consent, other
# segments' membership, the bucket (new customers only). Any other type (events, identifiers, a
# new one) also re-evaluates the customers of the calls loaded since.
FROM_PROFILE_LOGS = frozenset({"trait", "trait_held", "consent", "segment", "bucket"})


def candidates(tree: dict, ctx: _Context, changes: Changes) -> str:
    """The customers an incremental refresh re-evaluates (a superset of those whose membership can
    have changed). Written data, found by write time: calls loaded (for conditions that read
    calls or identifiers: `FROM_PROFILE_LOGS`), profile changes (every trait
    write by a call, the API or the console), computed traits recomputed, consent decisions, new
    customers and merges (both sides), and the membership changes of the segments it names.
    Identity rewrites that leave no such trace (rebuilds, unmerges, blocks) make the refresh full
    instead (segments.services). Then, per time-relative condition, the customers with a row whose
    time crossed one of its boundaries between t0 and now (`_BANDS`)."""
    since = ctx.param(changes.since)
    conditions = [c for _, c in leaves(tree)]
    # Calls loaded matter to conditions on events and identifiers; the profile's conditions read
    # what the other logs below record (a call's trait writes are in the profile change log), so a
    # segment of traits alone does not re-evaluate every visitor of the last five minutes.
    calls = any(c["type"] not in FROM_PROFILE_LOGS for c in conditions)
    parts = [
        *([f"SELECT cdp_id FROM {{events}} WHERE tenant_id = :tenant_id AND loaded_at >= {since} AND cdp_id IS NOT NULL"] if calls else []),
        f"SELECT cdp_id FROM {{profile_changes}} WHERE tenant_id = :tenant_id AND changed_at >= {since}",
        f"SELECT cdp_id FROM {{customer_ids}} WHERE tenant_id = :tenant_id AND issued_at >= {since}",
        f"SELECT cdp_id FROM {{identity_merges}} WHERE tenant_id = :tenant_id AND merged_at >= {since}",
        f"SELECT merged_cdp_id AS cdp_id FROM {{identity_merges}} WHERE tenant_id = :tenant_id AND merged_at >= {since}",
    ]
    keys = sorted({c["key"] for c in conditions if c["type"] in ("trait", "trait_held")})
    if keys:  # computed traits are written by their recomputation, which keeps no change log
        parts.append(f"SELECT cdp_id FROM {{traits}} WHERE tenant_id = :tenant_id AND {{noindex(key)}} IN {ctx.param(keys)} "
                     f"AND source = 'computed' AND updated_at >= {since}")
    if any(c["type"] == "consent" for c in conditions):
        parts.append(f"SELECT cdp_id FROM {{consents}} WHERE tenant_id = :tenant_id AND updated_at >= {since}")
    segments = sorted({int(c["segment_id"]) for c in conditions if c["type"] == "segment"})
    if segments and changes.segment_runs:  # by run, not by `changed_at`: that is a refresh's clock, which may be any time
        parts.append(f"SELECT cdp_id FROM {{segment_membership_log}} WHERE tenant_id = :tenant_id AND segment_id IN {ctx.param(segments)} "
                     f"AND run_id IN {ctx.param(sorted(changes.segment_runs))}")
    for c in conditions:
        parts += _BANDS.get(c["type"], lambda c, ctx, t0: [])(c, ctx, changes.t0)
    return " UNION ".join(parts)


def _crossed(column: str, ctx: _Context, t0: datetime, offsets: list[timedelta]) -> list[str]:
    """Tests of a time column, one a band [t0 + offset, now + offset]: a boundary `now + offset`
    of a condition passed it as the clock moved. One candidate query a band: each is an index
    range on its own (SQLite would scan a name's calls for an OR of ranges)."""
    return [f"({column} >= {ctx.param(t0 + o)} AND {column} <= {ctx.param(ctx.now + o)})" for o in offsets]


def _named_calls(step: dict, ctx: _Context, test: str) -> str:
    return f"SELECT cdp_id FROM {{events}} WHERE tenant_id = :tenant_id AND event = {ctx.param(step['event'])} AND cdp_id IS NOT NULL AND {test}"


def _days(n) -> timedelta:
    return timedelta(days=int(n))


def _trait_bands(c: dict, ctx: _Context, t0: datetime) -> list[str]:
    op, value = c["op"], c.get("value")
    key = f"SELECT cdp_id FROM {{traits}} WHERE tenant_id = :tenant_id AND key = {ctx.param(c['key'])} AND "
    offsets = {"within_last_days": lambda n: [-_days(n), timedelta(0)], "more_than_days_ago": lambda n: [-_days(n)],
               "in_next_days": lambda n: [timedelta(0), _days(n)]}.get(op)
    if offsets:
        return [key + band for band in _crossed("time_value", ctx, t0, offsets(value))]
    if op == "anniversary_in_next_days":
        flipped = sorted(set(anniversary_days(t0, int(value))) ^ set(anniversary_days(ctx.now, int(value))))
        return [key + f"time_value IS NOT NULL AND {{month_day(time_value)}} IN {ctx.param(flipped)}"] if flipped else []
    return []


def _relative_offsets(test: dict | None) -> list[timedelta]:
    if not test or test["op"] in ("before", "after"):
        return []
    return [-_days(test["value"]), timedelta(0)] if test["op"] == "within_last_days" else [-_days(test["value"])]


def _event_bands(c: dict, ctx: _Context, t0: datetime) -> list[str]:
    offsets = ([-_days(c["within_days"]), timedelta(0)] if c.get("within_days") else []) + _relative_offsets(c.get("first")) \
        + _relative_offsets(c.get("last"))
    return [_named_calls(c, ctx, band) for band in _crossed("event_time", ctx, t0, offsets)]


def _sequence_bands(c: dict, ctx: _Context, t0: datetime) -> list[str]:
    offsets = [-_days(c["within_days"]), timedelta(0)] if c.get("within_days") else []
    if c.get("then_missing"):
        offsets.append(-timedelta(hours=int(c["within_hours"])))
    return [_named_calls(c["first"], ctx, band) for band in _crossed("event_time", ctx, t0, offsets)]


# Up to this many periods a regular condition's candidates are index ranges, one a boundary;
# past it, one scan of the window (each range costs two parameters, and Databricks SQL allows 255).
REGULAR_BANDS_UP_TO = 32


def _regular_bands(c: dict, ctx: _Context, t0: datetime) -> list[str]:
    # A call changes period (or leaves the window) exactly when a period boundary (now - k
    # units, k = 0 .. M: the last one ends the window) passed it as the clock moved from t0.
    unit = float(_UNIT_SECONDS[c.get("unit", "day")])
    periods = int(c["of_last"]) + 1
    if periods <= REGULAR_BANDS_UP_TO:
        return [_named_calls(c, ctx, band) for band in _crossed("event_time", ctx, t0, [-timedelta(seconds=unit * k) for k in range(periods)])]
    seconds = ctx.param(unit)
    before, after = (f"{{age_bucket(event_time, {ctx.param(t.timestamp())}, {seconds})}}" for t in (t0, ctx.now))
    start = ctx.param(t0 - timedelta(seconds=unit * (int(c["of_last"]) + 1)))
    return [_named_calls(c, ctx, f"event_time > {start} AND event_time <= {ctx.param(ctx.now)} AND {before} <> {after}")]


def _lapsed_bands(c: dict, ctx: _Context, t0: datetime) -> list[str]:
    return [_named_calls(c, ctx, band) for band in _crossed("event_time", ctx, t0, [-_days(c["days"])])]


def _held_bands(c: dict, ctx: _Context, t0: datetime) -> list[str]:
    return [f"SELECT cdp_id FROM {{profile_changes}} WHERE tenant_id = :tenant_id AND key = {ctx.param(c['key'])} AND {band}"
            for band in _crossed("event_time", ctx, t0, [-_days(c["days"])])]


_BANDS = {"trait": _trait_bands, "event": _event_bands, "sequence": _sequence_bands, "regular": _regular_bands,
          "lapsed": _lapsed_bands, "trait_held": _held_bands}


# --- for journeys: a tree over given customers, and calls loaded in a window --------------------

def compile_holds_for(tree: dict, *, tenant_id: str, now: datetime, candidates: list[str]) -> Compiled:
    """The customers among `candidates` (a list parameter) for whom the tree holds at `now`: a
    journey's branch over the instances at it, every condition reading only their rows."""
    tree = expanded(tree)
    ctx = _Context(now=now, params={"tenant_id": tenant_id, "candidates": list(candidates)},
                   within="SELECT cdp_id FROM {identities} WHERE tenant_id = :tenant_id AND cdp_id IN :candidates")
    return Compiled(sql=_audience(tree, ctx), params=ctx.params)


MATCHING_CALL_TYPES = {"step": "bigint", "event_time": "timestamp", "loaded_at": "timestamp"}


def compile_matching_calls(steps: list[dict], *, tenant_id: str, loaded_after: datetime, loaded_until: datetime,
                           by: str = "loaded_at") -> Compiled:
    """The calls loaded in (`loaded_after`, `loaded_until`] that pass any of `steps` (an event name
    and property filters, as in an event condition), each with the position of the step it passed:
    how journeys see entries, awaited events, goals and exits with segments' filter semantics.
    `by="event_time"` bounds the calls' event times instead (a backtest replays them as they happened)."""
    if by not in ("loaded_at", "event_time"):
        raise ValueError(f"calls are windowed by loaded_at or event_time, not {by}")
    ctx = _Context(now=loaded_until, params={"tenant_id": tenant_id})
    window = f"{by} > {ctx.param(loaded_after)} AND {by} <= {ctx.param(loaded_until)}"
    branches = [f"SELECT {i} AS step, cdp_id, message_id, event, properties, event_time, loaded_at FROM {{events}} "
                f"WHERE {' AND '.join(_step_tests(step, ctx))} AND {window}" for i, step in enumerate(steps)]
    return Compiled(sql=" UNION ALL ".join(branches), params=ctx.params, returns=MATCHING_CALL_TYPES)
