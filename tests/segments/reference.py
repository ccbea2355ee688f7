"""The reference evaluator: segment definitions evaluated in plain Python over plain rows, as
segments/definitions.py says they mean. Every engine's compiled statement must agree with it."""
from __future__ import annotations

import calendar
import json
import math
from datetime import UTC, datetime, timedelta

from lakehouse.functions import bucket


def _parse_date(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _json_text(value):
    """A JSON value as the engines' json_string reads it."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json_number(value):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            text = value.strip()
            return float(text) if text and any(ch.isdigit() for ch in text) else None
        except ValueError:
            return None
    return None


def _prop(properties: dict, path: str):
    value = properties
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


class Reference:
    def __init__(self, *, identities, traits, events, consents, members, now: datetime, changes=(), tenant_id: str = "acme"):
        self.now = now
        self.tenant_id = tenant_id
        self.changes = list(changes)
        self.customers = {r["cdp_id"] for r in identities}
        self.identities = identities
        self.traits = {(r["cdp_id"], r["key"]): r for r in traits}
        self.events = events
        self.consents = consents
        self.members = members  # segment_id -> set of cdp_ids

    def audience(self, tree: dict) -> set[str]:
        return {c for c in self.customers if self.holds(tree, c)}

    def holds(self, tree: dict, c: str) -> bool:
        if "all" in tree:
            return all(self.holds(m, c) for m in tree["all"])
        if "any" in tree:
            return any(self.holds(m, c) for m in tree["any"])
        if "not" in tree:
            return not self.holds(tree["not"], c)
        return getattr(self, "_" + tree["type"])(tree, c)

    # --- conditions ---
    def _trait(self, t, c):
        row = self.traits.get((c, t["key"]))
        op, v = t["op"], t.get("value")
        present = row is not None and (row["value"] is not None or row["value_type"] is not None)
        if op == "exists":
            return present
        if op == "missing":
            return not present
        if op == "not_equals":
            return not self._trait({**t, "op": "equals"}, c)
        if row is None:
            return False
        text, number, when = row["value"], row["number_value"], row.get("time_value")
        if op == "includes":
            if row["value_type"] != "array":
                return False
            return str(v) in [_json_text(x) for x in json.loads(text) if x is not None and not isinstance(x, (dict, list))]
        return _compare(op, v, text, number, when, self.now)

    def _calls(self, step, c, *, window=None):
        out = []
        for row in self.events:
            if row["cdp_id"] != c or row["event"] != step["event"]:
                continue
            if step.get("event_type") and row["type"] != step["event_type"]:
                continue
            if window and not window(row["event_time"]):
                continue
            props = json.loads(row["properties"]) if row["properties"] else {}
            if all(self._property(f, props) for f in step.get("where") or []):
                out.append(row)
        return out

    def _window(self, e):
        if e.get("within_days"):
            return lambda t: self.now - timedelta(days=e["within_days"]) <= t <= self.now
        if e.get("between"):
            low, high = (_parse_date(v) for v in e["between"])
            return lambda t: low <= t <= high
        return None

    def _event(self, e, c):
        calls = self._calls(e, c, window=self._window(e))
        rule = e.get("count") or {}
        op, n = rule.get("op", "gte"), rule.get("value", 1)
        if not {"gte": len(calls) >= n, "gt": len(calls) > n, "eq": len(calls) == n, "lte": len(calls) <= n, "lt": len(calls) < n}[op]:
            return False
        if e.get("first") and not self._time(e["first"], min(r["event_time"] for r in calls)):
            return False
        if e.get("last") and not self._time(e["last"], max(r["event_time"] for r in calls)):
            return False
        if e.get("last_where"):
            last = max(calls, key=lambda r: (r["event_time"], r["message_id"]))
            props = json.loads(last["properties"]) if last["properties"] else {}
            return all(self._property(f, props) for f in e["last_where"])
        return True

    def _time(self, test, when):
        op, v = test["op"], test["value"]
        if op == "within_last_days":
            return self.now - timedelta(days=v) <= when <= self.now
        if op == "more_than_days_ago":
            return when < self.now - timedelta(days=v)
        return when < _parse_date(v) if op == "before" else when > _parse_date(v)

    def _sequence(self, s, c):
        window = self._window(s)
        span = timedelta(hours=s["within_hours"])
        thens = [r["event_time"] for r in self._calls(s["then"], c)]
        for a in self._calls(s["first"], c, window=window):
            followed = any(a["event_time"] < t <= a["event_time"] + span for t in thens)
            if s.get("then_missing"):
                if a["event_time"] + span <= self.now and not followed:
                    return True
            elif followed:
                return True
        return False

    def _regular(self, r, c):
        unit = 86400 if r.get("unit", "day") == "day" else 7 * 86400
        start = self.now - timedelta(seconds=unit * r["of_last"])
        periods = {math.floor((self.now - row["event_time"]).total_seconds() / unit)
                   for row in self._calls(r, c, window=lambda t: start < t <= self.now)}
        return len(periods) >= r["at_least"]

    def _lapsed(self, r, c):
        calls = self._calls(r, c)
        return bool(calls) and max(row["event_time"] for row in calls) < self.now - timedelta(days=r["days"])

    def _trait_held(self, t, c):
        if not self._trait({"key": t["key"], "op": "equals", "value": t["value"]}, c):
            return False
        v = t["value"]
        encodings = {json.dumps(v, separators=(",", ":"), ensure_ascii=False)}
        if not isinstance(v, (bool, str)) and float(v).is_integer():
            encodings |= {json.dumps(int(v)), json.dumps(float(v))}
        cut = self.now - timedelta(days=t["days"])
        rows = [r for r in self.changes if r["cdp_id"] == c and r["key"] == t["key"]]
        before = [r for r in rows if r["event_time"] <= cut]
        if not before:
            return False
        last = max(before, key=lambda r: (r["event_time"], r["changed_at"], r["change_id"]))
        if last["action"] != "set" or last["value"] not in encodings:
            return False
        return all(r["action"] == "set" and r["value"] in encodings for r in rows if r["event_time"] > cut)

    def _bucket(self, b, c):
        n = bucket(f"{self.tenant_id}:{b['salt']}:{c}")
        return round(b.get("from_percent", 0) * 100) <= n < round(b["to_percent"] * 100)

    def _property(self, f, props):
        raw = _prop(props, f["property"])
        op, v = f["op"], f.get("value")
        if op == "exists":
            return raw is not None
        if op == "missing":
            return raw is None
        if op == "not_equals":
            return raw is not None and not self._property({**f, "op": "equals"}, props)
        return _compare(op, v, _json_text(raw), _json_number(raw), None, self.now)

    def _identifier(self, i, c):
        return any(r["cdp_id"] == c and r["id_type"] == i["id_type"] for r in self.identities)

    def _consent(self, k, c):
        rows = [r for r in self.consents if r["cdp_id"] == c and r["purpose"] == k["purpose"] and r["channel"] in (k["channel"], "*")]
        if not rows:
            return False
        latest = max(rows, key=lambda r: (r["updated_at"], r["channel"]))
        return latest["granted"] == k.get("granted", True)

    def _segment(self, s, c):
        return c in self.members.get(s["segment_id"], set())


def _compare(op, v, text, number, when, now) -> bool:
    if op == "equals":
        if isinstance(v, bool):
            return text == ("true" if v else "false")
        if isinstance(v, (int, float)):
            return number is not None and number == float(v)
        return text == v
    if op == "in":
        return (text is not None and text in [x for x in v if isinstance(x, str)]) or \
            (number is not None and number in [float(x) for x in v if isinstance(x, (int, float)) and not isinstance(x, bool)])
    if op == "contains":
        return text is not None and v.lower() in text.lower()
    if op == "starts_with":
        return text is not None and text.lower().startswith(v.lower())
    if op in ("gt", "gte", "lt", "lte", "between"):
        values = v if op == "between" else [v]
        if isinstance(values[0], str):
            subject, operands = when, [_parse_date(x) for x in values]
        else:
            subject, operands = number, [float(x) for x in values]
        if subject is None:
            return False
        if op == "between":
            return operands[0] <= subject <= operands[1]
        return {"gt": subject > operands[0], "gte": subject >= operands[0], "lt": subject < operands[0], "lte": subject <= operands[0]}[op]
    if op == "within_last_days":
        return when is not None and now - timedelta(days=v) <= when <= now
    if op == "more_than_days_ago":
        return when is not None and when < now - timedelta(days=v)
    if op == "in_next_days":
        return when is not None and now <= when <= now + timedelta(days=v)
    if op == "anniversary_in_next_days":
        if when is None:
            return False
        for i in range(v + 1):
            day = (now + timedelta(days=i)).date()
            if (when.month, when.day) == (day.month, day.day):
                return True
            if (when.month, when.day) == (2, 29) and (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
                return True
        return False
    raise ValueError(op)
