"""The reference evaluator: segment definitions evaluated in plain Python over plain rows, as
segments/definitions.py says they mean. Every engine's compiled statement must agree with it."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta


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
    def __init__(self, *, identities, traits, events, consents, members, now: datetime):
        self.now = now
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
        return _compare(op, v, text, number, when, self.now)

    def _event(self, e, c):
        count = 0
        for row in self.events:
            if row["cdp_id"] != c or row["event"] != e["event"]:
                continue
            if e.get("event_type") and row["type"] != e["event_type"]:
                continue
            if e.get("within_days") and not (self.now - timedelta(days=e["within_days"]) <= row["event_time"] <= self.now):
                continue
            props = json.loads(row["properties"]) if row["properties"] else {}
            if all(self._property(f, props) for f in e.get("where") or []):
                count += 1
        rule = e.get("count") or {}
        op, n = rule.get("op", "gte"), rule.get("value", 1)
        return {"gte": count >= n, "gt": count > n, "eq": count == n, "lte": count <= n, "lt": count < n}[op]

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
    raise ValueError(op)
