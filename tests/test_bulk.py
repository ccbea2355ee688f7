"""kernel.bulk's fast paths give what the ORM gives: rows written by `rows_insert` (or changed by `rows_update`) read back
through the ORM unchanged, and `rows_read` returns the ORM's own values (aware times with and
without microseconds, nulls, JSON) — on SQLite, where it converts by itself, and on PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from journeys.models import Tick
from kernel.bulk import rows_insert, rows_read

pytestmark = pytest.mark.django_db


def test_rows_written_and_read_fast_are_the_orms():
    at = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    rows = [("bench", at, at.replace(microsecond=123456), None, "running", {"moved": 2, "nodes": {"a": [1, "é"]}}, ""),
            ("bench", at, at, at, "succeeded", {}, "a\nb")]
    assert rows_insert(Tick, ["trigger", "clock", "started_at", "finished_at", "state", "counts", "error"], rows) == 2
    columns = ("id", "clock", "started_at", "finished_at", "counts", "error")
    query = Tick.objects.filter(trigger="bench").order_by("id").values_list(*columns)
    fast, orm = rows_read(query), [tuple(r) for r in query]
    assert fast == orm and fast[0][2] == at.replace(microsecond=123456) and fast[0][2].tzinfo is not None
    assert fast[0][4] == {"moved": 2, "nodes": {"a": [1, "é"]}} and fast[0][3] is None
    assert rows_read(Tick.objects.filter(id__in=[]).values_list(*columns)) == []
    with pytest.raises(ValueError, match="a row of 2 values for 7 columns"):
        rows_insert(Tick, ["trigger", "clock", "started_at", "finished_at", "state", "counts", "error"], [("x", at)])


def test_rows_updated_fast_each_get_their_own_values_where_all_keys_match():
    from kernel.bulk import rows_update

    at = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    columns = ["trigger", "clock", "started_at", "finished_at", "state", "counts", "error"]
    rows_insert(Tick, columns, [("upd", at, at, None, "running", {}, ""), ("upd", at, at, None, "running", {}, "")])
    first, second = Tick.objects.filter(trigger="upd").order_by("id").values_list("id", flat=True)
    later = at.replace(microsecond=654321)
    changed = rows_update(Tick, ["finished_at", "state", "counts"], [
        (later, "succeeded", {"moved": 1}, first, "running"),
        (later, "failed", {"é": [2]}, second, "not its state"),  # a key that does not match: left alone
    ], where=("id", "state"))
    assert changed == 1
    assert Tick.objects.get(id=first).finished_at == later and Tick.objects.get(id=first).counts == {"moved": 1}
    assert (Tick.objects.get(id=second).state, Tick.objects.get(id=second).finished_at) == ("running", None)
    assert rows_update(Tick, ["state"], []) == 0
