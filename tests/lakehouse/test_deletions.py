"""Named deletes (and erasure's, derived from each table's personal-data declaration) remove the
same rows on every engine, and only the rows of their tenant."""
from __future__ import annotations

import pytest

from lakehouse import erasure
from lakehouse.schema import TABLES
from lakehouse.statements import DELETIONS, Statement

NAMES = sorted(DELETIONS)


def _copy(engine, table, tenant_id: str) -> None:
    """The dataset's rows of tenant acme, as a tenant of the test's own."""
    columns = ", ".join(table.column_names)
    rows = engine.execute(Statement(f"test.copy.{table.name}", f"SELECT {columns} FROM {{{table.name}}} WHERE tenant_id = :tenant_id"),
                          {"tenant_id": "acme"}).dicts()
    engine.insert_many(table, [{**row, "tenant_id": tenant_id} for row in rows])


def _rows(engine, table, tenant_id: str) -> list[tuple]:
    columns = ", ".join(table.key)
    return [tuple(r.values()) for r in engine.execute(Statement(
        f"test.keys.{table.name}", f"SELECT {columns} FROM {{{table.name}}} WHERE tenant_id = :tenant_id ORDER BY {columns}"),
        {"tenant_id": tenant_id}).dicts()]


@pytest.mark.parametrize("name", NAMES)
def test_named_delete_removes_the_same_rows_on_every_engine(name, all_engines, tenant_id):
    deletion = DELETIONS[name]
    table = TABLES[deletion.table]
    left = {}
    for engine_name, engine in all_engines.items():
        _copy(engine, table, tenant_id)
        before = _rows(engine, table, tenant_id)
        engine.delete(deletion, {**deletion.example, "tenant_id": tenant_id})
        left[engine_name] = _rows(engine, table, tenant_id)
        assert len(left[engine_name]) < len(before), f"{name}: the example deletes nothing, so the comparison proves nothing"
        assert _rows(engine, table, "acme"), "another tenant's rows stay"
    assert all(rows == left["sqlite"] for rows in left.values()), left


def test_erasure_deletes_by_customer_and_by_identifier_of_one_type_on_every_engine(all_engines, tenant_id):
    """Customer c1's rows go from every personal table; u2 as a user id goes, a2 as an anonymous
    id stays (erasure matches type and value)."""
    for engine_name, engine in all_engines.items():
        for table in TABLES.personal():
            _copy(engine, table, tenant_id)
        names = erasure.personal_data_erase(engine, tenant=tenant_id, cdp_ids=["c1"], identifiers=[("user_id", "u2"), ("phone", "a2")])
        assert sorted(names) == sorted(t.name for t in TABLES.personal())
        for table in TABLES.personal():
            columns = ", ".join(table.column_names)
            rows = engine.execute(Statement(f"test.erased.{table.name}", f"SELECT {columns} FROM {{{table.name}}} WHERE tenant_id = :tenant_id"),
                                  {"tenant_id": tenant_id}).dicts()
            for row in rows:
                assert "c1" not in [row.get(c) for c in table.personal.customers], (engine_name, table.name, row)
                for type_column, value_column in table.personal.identifiers:
                    assert (row[type_column], row[value_column]) != ("user_id", "u2"), (engine_name, table.name, row)
        identities = [r for r in _rows(engine, TABLES["identities"], tenant_id)]
        assert any(key[1:] == ("anonymous_id", "a2") for key in identities), (engine_name, "a2 is no phone: it stays")
