"""Bulk insert, upsert, replace and delete behave the same on every engine."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from customers.tables import EVENTS, TRAITS
from lakehouse.statements import Statement

T0 = datetime(2026, 5, 1, tzinfo=UTC)
EVENT_ROWS = Statement("test.events", "SELECT message_id, event FROM {events} WHERE tenant_id = :tenant_id ORDER BY message_id")
TRAIT_ROWS = Statement("test.traits", "SELECT cdp_id, key, value, updated_at FROM {traits} WHERE tenant_id = :tenant_id ORDER BY cdp_id, key",
                       returns={"updated_at": "timestamp"})


def _event(tenant_id, n, name="Clicked"):
    return {"tenant_id": tenant_id, "message_id": f"m{n:03d}", "type": "track", "event": name, "cdp_id": "c1",
            "event_time": T0 + timedelta(seconds=n), "received_at": T0}


def _trait(tenant_id, key, value, at, cdp_id="c1"):
    return {"tenant_id": tenant_id, "cdp_id": cdp_id, "key": key, "value": value, "updated_at": at, "source": "test"}


def test_insert_skipping_existing_keys_makes_replays_harmless(engine, tenant_id):
    batch = [_event(tenant_id, n) for n in range(5)]
    engine.insert_many(EVENTS, batch, skip_existing=True)
    replay = [_event(tenant_id, n, name="Replayed") for n in range(3, 8)] + [_event(tenant_id, 7, name="Duplicate in batch")]
    engine.insert_many(EVENTS, replay, skip_existing=True)
    rows = engine.execute(EVENT_ROWS, {"tenant_id": tenant_id}).dicts()
    assert [r["message_id"] for r in rows] == [f"m{n:03d}" for n in range(8)]
    assert [r["event"] for r in rows] == ["Clicked"] * 5 + ["Replayed"] * 3  # first write of a key wins


def test_upsert_is_last_write_wins_by_event_time(engine, tenant_id):
    engine.upsert(TRAITS, [_trait(tenant_id, "plan", "free", T0), _trait(tenant_id, "city", "Oslo", T0)], newer="updated_at")
    late_but_older = _trait(tenant_id, "plan", "trial", T0 - timedelta(days=1))
    newer = _trait(tenant_id, "city", "Bergen", T0 + timedelta(hours=1))
    same_batch = [_trait(tenant_id, "tier", "gold", T0 + timedelta(hours=2)), _trait(tenant_id, "tier", "silver", T0 + timedelta(hours=1))]
    engine.upsert(TRAITS, [late_but_older, newer, *same_batch], newer="updated_at")
    rows = {r["key"]: (r["value"], r["updated_at"]) for r in engine.execute(TRAIT_ROWS, {"tenant_id": tenant_id})}
    assert rows == {
        "plan": ("free", T0),
        "city": ("Bergen", T0 + timedelta(hours=1)),
        "tier": ("gold", T0 + timedelta(hours=2)),
    }


def test_upsert_without_a_time_column_takes_the_incoming_row(engine, tenant_id):
    engine.upsert(TRAITS, [_trait(tenant_id, "plan", "free", T0)])
    engine.upsert(TRAITS, [_trait(tenant_id, "plan", "pro", T0 - timedelta(days=3))])
    assert engine.execute(TRAIT_ROWS, {"tenant_id": tenant_id}).first()["value"] == "pro"


def test_replace_from_select_changes_only_the_rows_it_names(engine, tenant_id):
    other = f"{tenant_id}_neighbour"
    engine.upsert(TRAITS, [_trait(tenant_id, "plan", "free", T0, cdp_id=f"c{i}") for i in range(3)])
    engine.upsert(TRAITS, [_trait(other, "plan", "free", T0)])
    columns = ", ".join(TRAITS.column_names)
    select = (f"SELECT {columns} FROM {engine.qualify('traits')} WHERE tenant_id = :tenant_id AND cdp_id <> 'c1'")
    # Rebuild this tenant's slice without customer c1 (as an erasure or a recomputation would).
    engine.replace_from_select(TRAITS, select, {"tenant_id": tenant_id}, where="tenant_id = :tenant_id")
    assert [r["cdp_id"] for r in engine.execute(TRAIT_ROWS, {"tenant_id": tenant_id})] == ["c0", "c2"]
    assert len(engine.execute(TRAIT_ROWS, {"tenant_id": other})) == 1


def test_delete_where_removes_one_customers_rows(engine, tenant_id):
    engine.insert_many(EVENTS, [_event(tenant_id, n) for n in range(3)])
    engine.delete_where(EVENTS, "tenant_id = :tenant_id AND message_id = :message_id", {"tenant_id": tenant_id, "message_id": "m001"})
    assert [r["message_id"] for r in engine.execute(EVENT_ROWS, {"tenant_id": tenant_id})] == ["m000", "m002"]
    with pytest.raises(ValueError, match="tenant_id"):
        engine.delete_where(EVENTS, "message_id = :m", {"m": "m000"})


def test_rows_may_be_tuples_in_column_order(engine, tenant_id):
    row = tuple(_event(tenant_id, 1).get(c) for c in EVENTS.column_names)
    assert engine.insert_many(EVENTS, [row]) == 1
    with pytest.raises(ValueError, match="values"):
        engine.insert_many(EVENTS, [row[:3]])


@pytest.mark.django_db(transaction=True)
def test_default_engine_joins_djangos_transactions():
    """On the embedded engine, an atomic block rolls back customer data with everything else."""
    from django.db import transaction

    from lakehouse.backends.embedded import embedded_engine
    from lakehouse.migrate import migrate

    engine = embedded_engine()
    migrate(engine)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            engine.insert_many(EVENTS, [_event("tx", 1)])
            raise RuntimeError("abort")
    assert engine.execute(EVENT_ROWS, {"tenant_id": "tx"}).dicts() == []
    engine.insert_many(EVENTS, [_event("tx", 2)])
    assert len(engine.execute(EVENT_ROWS, {"tenant_id": "tx"})) == 1
