"""Definitions in words, for the console: each condition as a person would say it."""
from __future__ import annotations

OPS = {"equals": "is", "not_equals": "is not", "in": "is one of", "contains": "contains", "starts_with": "starts with",
       "gt": "is more than", "gte": "is at least", "lt": "is less than", "lte": "is at most", "between": "is between",
       "within_last_days": "is within the last", "more_than_days_ago": "is more than", "in_next_days": "is in the next",
       "anniversary_in_next_days": "has its anniversary within", "includes": "includes", "exists": "is set", "missing": "is not set"}
COUNTS = {"gte": "at least", "gt": "more than", "eq": "exactly", "lte": "at most", "lt": "fewer than"}
TIMES = {"within_last_days": "in the last {} days", "more_than_days_ago": "more than {} days ago", "before": "before {}", "after": "after {}"}


def _value(op: str, value) -> str:
    if op in ("exists", "missing"):
        return ""
    if op in ("within_last_days", "in_next_days", "anniversary_in_next_days"):
        return f" {value} days" if op != "anniversary_in_next_days" or value else " today"
    if op == "more_than_days_ago":
        return f" {value} days ago"
    if isinstance(value, list):
        return " " + (" and ".join(map(str, value)) if op == "between" else ", ".join(map(str, value)))
    return f" “{value}”" if isinstance(value, str) else f" {value}"


def _filters(filters) -> str:
    return "".join(f" where {f['property']} {OPS[f['op']]}{_value(f['op'], f.get('value'))}" for f in filters or [])


def _step(step: dict) -> str:
    return f"“{step['event']}”" + (f" ({step['event_type']})" if step.get("event_type") else "") + _filters(step.get("where"))


def describe(c: dict, names: dict[int, str] | None = None) -> str:
    """The condition in words; one not valid yet (being edited) as its JSON."""
    import json

    try:
        return _describe(c, names)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return f"(incomplete) {json.dumps(c, ensure_ascii=False)[:200]}"


def _describe(c: dict, names: dict[int, str] | None) -> str:
    kind = c.get("type")
    if kind == "trait":
        return f"{c['key']} {OPS[c['op']]}{_value(c['op'], c.get('value'))}"
    if kind == "trait_held":
        return f"{c['key']} has been “{c['value']}” for at least {c['days']} days"
    if kind == "event":
        rule = c.get("count") or {}
        op, n = rule.get("op", "gte"), rule.get("value", 1)
        said = "did not perform" if (op, n) in (("eq", 0), ("lt", 1)) else f"performed {COUNTS[op]} {n}×"
        window = f" in the last {c['within_days']} days" if c.get("within_days") else \
            f" between {c['between'][0]} and {c['between'][1]}" if c.get("between") else ""
        extra = "".join(f", {name} time {TIMES[c[name]['op']].format(c[name]['value'])}" for name in ("first", "last") if c.get(name))
        extra += f", the last one{_filters(c['last_where'])}" if c.get("last_where") else ""
        return f"{said} {_step(c)}{window}{extra}"
    if kind == "sequence":
        window = f" (in the last {c['within_days']} days)" if c.get("within_days") else ""
        link = "without" if c.get("then_missing") else "then"
        return f"{_step(c['first'])}{window} {link} {_step(c['then'])} within {c['within_hours']} hours"
    if kind == "regular":
        return f"performed {_step(c)} in at least {c['at_least']} of the last {c['of_last']} {c.get('unit', 'day')}s"
    if kind == "lapsed":
        return f"performed {_step(c)} before, but not in the last {c['days']} days"
    if kind == "identifier":
        return f"has an identifier of type {c['id_type']}"
    if kind == "consent":
        return f"{'granted' if c.get('granted', True) else 'denied'} {c['purpose']} consent for {c['channel']}"
    if kind == "segment":
        name = (names or {}).get(c["segment_id"])
        return f"is in segment “{name}”" if name else f"is in segment {c['segment_id']}"
    if kind == "message":
        rule = c.get("count") or {}
        op, n = rule.get("op", "gte"), rule.get("value", 1)
        said = "was not" if (op, n) in (("eq", 0), ("lt", 1)) else f"was {COUNTS[op]} {n}×"
        what = " of ".join(filter(None, [f"template {c['template_id']}" if c.get("template_id") else "",
                                        f"channel {c['channel_id']}" if c.get("channel_id") else ""]))
        window = f" in the last {c['within_days']} days" if c.get("within_days") else ""
        source = f" from {c['source']}" if c.get("source") else ""
        return f"{said} {c.get('status', 'sent')} a message{' (' + what + ')' if what else ''}{source}{window}"
    if kind == "bucket":
        return f"falls in the {c.get('from_percent', 0):g}–{c['to_percent']:g}% bucket of draw “{c['salt']}”"
    return str(c)
