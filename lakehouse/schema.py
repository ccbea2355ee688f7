"""Table definitions: one per table, rendered as DDL for each engine, with forward migrations.

Types are abstract (`string`, `bigint`, `double`, `boolean`, `timestamp`, `json`); each engine
maps them to its own. Every table carries `tenant_id`; the registry refuses one that does not.
"""
from __future__ import annotations

from dataclasses import dataclass, field

TYPES = ("string", "bigint", "double", "boolean", "timestamp", "json")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    comment: str = ""

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}; one of {TYPES}")


@dataclass(frozen=True)
class AddColumns:
    """A forward migration: new nullable columns. Safe while the app runs (no rewrite, no lock)."""

    version: int
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class AddIndexes:
    """A forward migration: new secondary indexes (on the embedded engines; Delta clusters instead).
    Each must also be in the table's `indexes`, where its position names it."""

    version: int
    indexes: tuple[tuple[str, ...], ...]
    columns: tuple[Column, ...] = ()  # none: so a table's migrations read alike


@dataclass(frozen=True)
class Personal:
    """A table holds personal data: where erasure finds a customer's rows in it.

    `customers` are columns holding a cdp_id; `identifiers` are (type column, value column) pairs
    holding an identifier; `typed` are (identifier type, column) pairs, a column holding values of
    one type (events.user_id). Erasure (`lakehouse.erasure`) deletes from every table declaring one."""

    customers: tuple[str, ...] = ()
    identifiers: tuple[tuple[str, str], ...] = ()
    typed: tuple[tuple[str, str], ...] = ()

    @property
    def columns(self) -> set[str]:
        return {*self.customers, *(c for pair in self.identifiers for c in pair), *(c for _, c in self.typed)}


class _Undeclared:
    def __repr__(self) -> str:
        return "UNDECLARED"


# A table must say whether it holds personal data (a Personal, or None for no): no default a
# later table could inherit by forgetting, so erasure cannot miss a table by construction.
UNDECLARED = _Undeclared()


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # unique on the embedded engines; the merge key on Delta
    comment: str
    cluster_by: tuple[str, ...] = ()
    # Clustering columns outside the key whose value every rewrite of a row repeats (an event's
    # time is fixed by its messageId). A MERGE joins on them too, so the warehouse reads only the
    # files that can hold the source's rows instead of every file of the tenant.
    merge_on: tuple[str, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    migrations: tuple[AddColumns | AddIndexes, ...] = ()
    personal: Personal | None | _Undeclared = UNDECLARED

    @property
    def version(self) -> int:
        return max([1, *(m.version for m in self.migrations)])

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)

    def columns_added_after(self, version: int) -> list[Column]:
        return [column for m in self.migrations if m.version > version for column in m.columns]

    def indexes_added_after(self, version: int) -> list[tuple[str, ...]]:
        return [index for m in self.migrations if isinstance(m, AddIndexes) and m.version > version for index in m.indexes]


@dataclass
class TableRegistry:
    tables: dict[str, Table] = field(default_factory=dict)

    def register(self, table: Table) -> Table:
        names = table.column_names
        if "tenant_id" not in names:
            raise ValueError(f"table {table.name} has no tenant_id: every table is tenant-scoped")
        if len(set(names)) != len(names):
            raise ValueError(f"table {table.name} repeats a column")
        if not set(table.key) <= set(names) or not set(table.cluster_by) <= set(names):
            raise ValueError(f"table {table.name}: key and cluster_by must name its columns")
        if not set(table.merge_on) <= set(table.cluster_by) - set(table.key):
            raise ValueError(f"table {table.name}: merge_on must name clustering columns outside the key")
        if any(table.column(name).nullable for name in table.merge_on):
            # NULL = NULL is not true: a replayed row with a NULL there would be written twice.
            raise ValueError(f"table {table.name}: merge_on columns must be NOT NULL")
        if isinstance(table.personal, _Undeclared):
            raise ValueError(f"table {table.name} must declare personal=Personal(...) or personal=None: "
                             "whether it holds personal data decides what erasure deletes")
        if table.personal is not None and (not table.personal.columns or not table.personal.columns <= set(names)):
            raise ValueError(f"table {table.name}: personal must name columns of the table")
        added = {c.name for m in table.migrations for c in m.columns}
        if not added <= set(names):
            raise ValueError(f"table {table.name}: migrated columns must also be in its column list")
        if not set(table.indexes_added_after(0)) <= set(table.indexes):
            raise ValueError(f"table {table.name}: migrated indexes must also be in its indexes")
        existing = self.tables.get(table.name)
        if existing is not None and existing != table:
            raise ValueError(f"table {table.name} is defined twice")
        self.tables[table.name] = table
        return table

    def __iter__(self):
        return iter(sorted(self.tables.values(), key=lambda t: t.name))

    def __getitem__(self, name: str) -> Table:
        return self.tables[name]

    def __contains__(self, name: str) -> bool:
        return name in self.tables

    def personal(self) -> list[Table]:
        """Every table holding personal data: what erasure covers."""
        return [table for table in self if table.personal is not None]


TABLES = TableRegistry()
register_table = TABLES.register

# The layer's own bookkeeping: which version of each table's schema is in place.
SCHEMA_VERSIONS = Table(
    name="lakehouse_schema",
    comment="Schema version of each CDP lakehouse table (written by manage.py lakehouse migrate).",
    columns=(
        Column("tenant_id", "string", comment="Always '*': the schema is shared by all tenants."),
        Column("table_name", "string", nullable=False),
        Column("version", "bigint", nullable=False),
        Column("applied_at", "timestamp", nullable=False),
    ),
    key=("tenant_id", "table_name"),
    personal=None,
)
