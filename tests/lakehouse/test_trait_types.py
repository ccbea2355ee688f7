"""Every JSON type of trait comes back as it went in on every engine; numbers and dates stay comparable in SQL."""
from __future__ import annotations

from datetime import UTC, datetime

from customers.sql import CUSTOMER_PROFILE
from customers.tables import TRAITS
from customers.traits import trait_row, trait_value
from lakehouse.statements import Statement
from tests.customers.test_traits import EVERY_TYPE

T = datetime(2026, 3, 1, tzinfo=UTC)


def test_every_json_type_round_trips_through_the_trait_table_on_every_engine(engine, tenant_id):
    rows = [trait_row(tenant_id, "c-typed", key, value, T, "identify") for key, value in EVERY_TYPE.items()]
    engine.upsert(TRAITS, rows, newer="updated_at")
    back = {}
    for part, name, value, number, _at, _until, _source, _granted, kind in engine.execute(
            CUSTOMER_PROFILE, {"tenant_id": tenant_id, "cdp_id": "c-typed"}).rows:
        if part == "trait":
            back[name] = (trait_value(value, kind, number), kind)
    assert {key: value for key, (value, _) in back.items()} == EVERY_TYPE
    assert back["huge"][1] == "number" and back["nickname"][1] == "null" and back["digits"] == ("02134", "string")
    numbers = Statement("test.traits.numbers", "SELECT key FROM {traits} WHERE tenant_id = :tenant_id AND number_value > :at_least "
                                               "ORDER BY key")
    assert [r["key"] for r in engine.execute(numbers, {"tenant_id": tenant_id, "at_least": 1})] == ["seats"]
    dates = Statement("test.traits.dates", "SELECT key FROM {traits} WHERE tenant_id = :tenant_id AND time_value >= :since ORDER BY key")
    assert [r["key"] for r in engine.execute(dates, {"tenant_id": tenant_id, "since": T})] == ["renewal"]
