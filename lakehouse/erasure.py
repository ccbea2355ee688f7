"""Erasure over every table that holds personal data, by construction.

Each registered table declares `personal=Personal(...)` or `personal=None` (the registry refuses a
table that says neither), and the deletes here are derived from those declarations: a table added
by a later app is erased from without anyone remembering to list it. Identifiers are matched by
(type, value), never by value alone, so erasing the customer whose user id is `V` leaves alone
another customer whose anonymous id happens to be `V`.

This is the one place that writes to tables it does not own: erasure is a rule over all of them,
and the owners keep that rule by the declaration they make.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from lakehouse.schema import TABLES, Table
from lakehouse.statements import Deletion

Node = tuple[str, str]


@cache
def by_customers(table: Table) -> Deletion | None:
    """The table's rows of some customers (`:cdp_ids`), or None when it holds no cdp_id."""
    columns = table.personal.customers
    if not columns:
        return None
    where = " OR ".join(f"{column} IN :cdp_ids" for column in columns)
    return Deletion(name=f"erase.{table.name}.customers", table=table.name, where=f"tenant_id = :tenant_id AND ({where})")


@cache
def by_identifiers(table: Table, id_type: str) -> Deletion | None:
    """The table's rows naming identifiers of one type (`:id_type`, `:values`), or None."""
    personal = table.personal
    conditions = [f"({type_column} = :id_type AND {value_column} IN :values)" for type_column, value_column in personal.identifiers]
    conditions += [f"{column} IN :values" for typed, column in personal.typed if typed == id_type]
    if not conditions:
        return None
    return Deletion(name=f"erase.{table.name}.{id_type}", table=table.name,
                    where=f"tenant_id = :tenant_id AND ({' OR '.join(conditions)})")


def personal_data_erase(engine, *, tenant: str, cdp_ids: Iterable[str], identifiers: Iterable[Node]) -> list[str]:
    """Delete a tenant's rows of these customers and identifiers from every personal table, in one
    transaction where the engine has them. Returns the names of the tables covered."""
    cdp_ids = sorted(set(cdp_ids))
    by_type: dict[str, set[str]] = {}
    for id_type, value in identifiers:
        by_type.setdefault(id_type, set()).add(value)
    tables = TABLES.personal()
    with engine.transaction():
        for table in tables:
            deletion = by_customers(table)
            for chunk in engine.chunks(cdp_ids, writes=True) if deletion else ():
                engine.delete(deletion, {"tenant_id": tenant, "cdp_ids": chunk})
            for id_type, values in sorted(by_type.items()):
                deletion = by_identifiers(table, id_type)
                typed = {"id_type": id_type} if deletion and ":id_type" in deletion.where else {}
                for chunk in engine.chunks(values, writes=True) if deletion else ():
                    engine.delete(deletion, {"tenant_id": tenant, **typed, "values": chunk})
    return [table.name for table in tables]
