"""Migrations create tables, add columns forward, are idempotent, and report status."""
from __future__ import annotations

import uuid

import pytest

from lakehouse.migrate import migrate, status
from lakehouse.schema import TABLES, AddColumns, AddIndexes, Column, Table, TableRegistry
from lakehouse.statements import Statement


@pytest.fixture
def evolving_table():
    """A table registered for one test, in two versions: as first shipped, and with a new column."""
    name = f"evolving_{uuid.uuid4().hex[:8]}"
    base = (Column("tenant_id", "string", nullable=False), Column("item", "string", nullable=False))
    v1 = Table(name=name, columns=base, key=("tenant_id", "item"), comment="test")
    score = Column("score", "double")
    v2 = Table(name=name, columns=(*base, score), key=("tenant_id", "item"), comment="test", migrations=(AddColumns(2, (score,)),))
    TABLES.tables[name] = v1
    yield v1, v2
    TABLES.tables.pop(name, None)


def test_migrate_creates_then_evolves_a_table_and_is_idempotent(engine, evolving_table):
    v1, v2 = evolving_table
    assert migrate(engine, tables=TableRegistry({v1.name: v1})) == [f"{v1.name}: created at version 1"]
    engine.insert_many(v1, [{"tenant_id": "t", "item": "kept"}])

    TABLES.tables[v1.name] = v2
    registry = TableRegistry({v2.name: v2})
    assert migrate(engine, tables=registry) == [f"{v2.name}: added score (version 2)"]
    assert migrate(engine, tables=registry) == []
    assert engine.existing_columns(v2.name) == {"tenant_id", "item", "score"}

    rows = engine.execute(Statement("t.evolved", f"SELECT item, score FROM {{{v2.name}}} WHERE tenant_id = :tenant_id"), {"tenant_id": "t"}).dicts()
    assert rows == [{"item": "kept", "score": None}]  # existing rows survive, new column empty
    [state] = status(engine, tables=registry)
    assert (state.exists, state.rows, state.version, state.latest, state.state) == (True, 1, 2, 2, "current")


def test_status_names_missing_tables(engine, evolving_table):
    v1, _ = evolving_table
    [state] = status(engine, tables=TableRegistry({v1.name: v1}))
    assert (state.exists, state.state) == (False, "missing")


def test_registry_refuses_merge_on_columns_a_merge_could_miss():
    columns = (Column("tenant_id", "string", nullable=False), Column("id", "string", nullable=False),
               Column("at", "timestamp"), Column("when", "timestamp", nullable=False))
    table = lambda **kw: Table(name="m", columns=columns, key=("tenant_id", "id"), comment="", personal=None, **kw)  # noqa: E731
    with pytest.raises(ValueError, match="clustering"):
        TableRegistry().register(table(merge_on=("when",)))
    with pytest.raises(ValueError, match="NOT NULL"):
        TableRegistry().register(table(cluster_by=("tenant_id", "at"), merge_on=("at",)))
    assert TableRegistry().register(table(cluster_by=("tenant_id", "when"), merge_on=("when",))).merge_on == ("when",)


def test_registry_refuses_tables_without_tenant_id():
    with pytest.raises(ValueError, match="tenant_id"):
        TableRegistry().register(Table(name="x", columns=(Column("id", "string"),), key=("id",), comment=""))
    with pytest.raises(ValueError, match="type"):
        Column("x", "varchar")


def test_migrate_adds_indexes_to_an_existing_table(engine, evolving_table):
    v1, v2 = evolving_table
    migrate(engine, tables=TableRegistry({v1.name: v1}))
    index = ("tenant_id", "item", "score")
    v3 = Table(name=v1.name, columns=v2.columns, key=v2.key, comment="test", indexes=(index,),
               migrations=(*v2.migrations, AddIndexes(3, (index,))))
    TABLES.tables[v1.name] = v3
    registry = TableRegistry({v3.name: v3})
    changes = migrate(engine, tables=registry)
    assert changes == [f"{v3.name}: added score; indexed (1 new) (version 3)" if engine.features.supports_indexes
                       else f"{v3.name}: added score (version 3)"]
    assert migrate(engine, tables=registry) == []
    if engine.vendor in ("sqlite", "postgresql"):
        catalog = ("SELECT name FROM sqlite_master WHERE type = 'index' AND name = :name" if engine.vendor == "sqlite"
                   else "SELECT indexname AS name FROM pg_indexes WHERE indexname = :name")
        assert engine.execute(catalog, {"name": f"{v3.name}_idx_1"}).dicts() == [{"name": f"{v3.name}_idx_1"}]
