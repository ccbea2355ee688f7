"""Definitions are checked before anything compiles them: each problem named by its JSON path."""
from __future__ import annotations

import pytest

from segments.definitions import definition_errors

VALID = [
    {"type": "trait", "key": "birthday", "op": "anniversary_in_next_days", "value": 0},
    {"type": "trait", "key": "tags", "op": "includes", "value": "vip"},
    {"type": "event", "event": "Order Completed", "between": ["2026-01-01", "2026-02-01"], "last": {"op": "within_last_days", "value": 3},
     "last_where": [{"property": "revenue", "op": "gt", "value": 100}]},
    {"type": "sequence", "first": {"event": "Product Added"}, "then": {"event": "Order Completed"}, "within_hours": 24, "then_missing": True},
    {"type": "regular", "event": "Session Started", "at_least": 3, "of_last": 4, "unit": "week"},
    {"type": "lapsed", "event": "Order Completed", "days": 90},
    {"type": "trait_held", "key": "plan", "value": "pro", "days": 30},
    {"type": "bucket", "salt": "holdout-2026", "to_percent": 10},
]


@pytest.mark.parametrize("condition", VALID, ids=lambda c: c["type"])
def test_every_condition_family_validates(condition):
    assert definition_errors({"all": [condition]}) == []


@pytest.mark.parametrize("condition,path", [
    ({"type": "trait", "key": "birthday", "op": "anniversary_in_next_days", "value": 400}, "$.value"),
    ({"type": "trait", "key": "tags", "op": "includes", "value": ["a"]}, "$.value"),
    ({"type": "event", "event": "A", "between": ["2026-01-01", "soon"]}, "$.between"),
    ({"type": "event", "event": "A", "within_days": 3, "between": ["2026-01-01", "2026-02-01"]}, "$.between"),
    ({"type": "event", "event": "A", "count": {"op": "eq", "value": 0}, "last": {"op": "within_last_days", "value": 3}}, "$.count"),
    ({"type": "event", "event": "A", "first": {"op": "before", "value": 3}}, "$.first.value"),
    ({"type": "event", "event": "A", "where": [{"property": "at", "op": "gt", "value": "2026-01-01"}]}, "$.where[0].value"),
    ({"type": "sequence", "first": {"event": "A", "where": [{"property": "x y", "op": "exists"}]}, "then": {"event": "B"},
      "within_hours": 1}, "$.first.where[0].property"),
    ({"type": "sequence", "first": {"event": "A"}, "then": {"event": "B"}, "within_hours": 0}, "$.within_hours"),
    ({"type": "regular", "event": "A", "at_least": 5, "of_last": 4}, "$.at_least"),
    ({"type": "trait_held", "key": "plan", "value": ["pro"], "days": 3}, "$.value"),
    ({"type": "bucket", "salt": "s", "from_percent": 50, "to_percent": 10}, "$.to_percent"),
])
def test_bad_conditions_are_named_by_their_path(condition, path):
    errors = definition_errors(condition)
    assert any(e["field"].startswith(path) for e in errors), errors
