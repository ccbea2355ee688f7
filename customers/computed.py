"""Computed traits: aggregates of each customer's events kept on the profile as trait rows.

count, sum, min, max, first, last and distinct count of an event or a property, over all time or
a rolling window (`orders_30d`, `lifetime_value`, `last_seen_at`). Recomputation is set-based: one
statement per definition answers, for a set of customers (those whose events just loaded, or
everyone), the new value beside the stored one, and only the values that changed are written
(source `computed`). Rolling windows move with time, so a schedule also refreshes everyone.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from customers.tables import TRAITS
from customers.traits import trait_row
from lakehouse.statements import Statement, deletion, statement

AGGREGATIONS = ("count", "sum", "min", "max", "first", "last", "distinct_count")
NEEDS_PROPERTY = frozenset({"sum", "min", "max", "distinct_count"})
# Dotted names only: the path is written into the statement, so nothing else may reach it.
PROPERTY_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,7}$")
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Definition:
    name: str
    aggregation: str
    event: str = ""
    event_type: str = ""
    property: str = ""
    window_days: int | None = None

    def problems(self) -> list[dict]:
        """What is wrong with the definition, as per-field errors (empty when it can run)."""
        errors = []
        if self.aggregation not in AGGREGATIONS:
            errors.append({"field": "aggregation", "message": f"must be one of {', '.join(AGGREGATIONS)}"})
        if self.aggregation in NEEDS_PROPERTY and not self.property:
            errors.append({"field": "property", "message": f"{self.aggregation} needs the event property to aggregate"})
        if self.property and not PROPERTY_PATH.match(self.property):
            errors.append({"field": "property", "message": "a property name or dotted path of letters, digits and _ (e.g. revenue or item.price)"})
        if self.window_days is not None and not 1 <= self.window_days <= 3650:
            errors.append({"field": "window_days", "message": "between 1 and 3650 days, or empty for all time"})
        return errors


# The customers in scope, each joined to their matching events: an indexed lookup per customer
# on the embedded engines (events are indexed by tenant, customer, time), a hash join on Spark.
_CUSTOMERS_WITH_EVENTS = (
    "(SELECT DISTINCT cdp_id FROM {identities} WHERE tenant_id = :tenant_id AND (:everyone = 1 OR cdp_id IN :cdp_ids)) AS c "
    "LEFT JOIN {events} AS e ON e.tenant_id = :tenant_id AND e.cdp_id = c.cdp_id AND (:event = '' OR e.event = :event) "
    "AND (:event_type = '' OR e.type = :event_type) AND e.event_time >= :since"
)


def _value_sql(aggregation: str, prop: str) -> str:
    path = f"'$.{prop}'"
    if aggregation == "count":
        return f"COUNT({{json_text(e.properties, {path})}})" if prop else "COUNT(e.message_id)"
    if aggregation == "distinct_count":
        return f"COUNT(DISTINCT {{json_text(e.properties, {path})}})"
    if aggregation in ("sum", "min", "max"):
        return f"{aggregation.upper()}({{json_double(e.properties, {path})}})"
    return f"{{json_text(e.properties, {path})}}" if prop else "e.event_time"


def _aggregate_sql(aggregation: str, prop: str) -> str:
    """One row per customer in scope: cdp_id and value (NULL when no event matched)."""
    value = _value_sql(aggregation, prop)
    if aggregation not in ("first", "last"):
        return f"SELECT c.cdp_id, {value} AS value FROM {_CUSTOMERS_WITH_EVENTS} GROUP BY c.cdp_id"
    direction = "ASC" if aggregation == "first" else "DESC"
    present = f" AND {value} IS NOT NULL" if prop else ""
    return (
        f"SELECT cdp_id, value FROM (SELECT c.cdp_id, {value} AS value, ROW_NUMBER() OVER "
        f"(PARTITION BY c.cdp_id ORDER BY e.event_time {direction}, e.message_id {direction}) AS position "
        f"FROM {_CUSTOMERS_WITH_EVENTS}{present}) AS ranked WHERE position = 1"
    )


def _returns(aggregation: str, prop: str) -> dict[str, str]:
    if aggregation in ("count", "distinct_count"):
        return {"value": "bigint"}
    if aggregation in ("sum", "min", "max"):
        return {"value": "double"}
    return {} if prop else {"value": "timestamp"}


@lru_cache(maxsize=256)
def statement_for(aggregation: str, prop: str) -> Statement:
    """The statement computing one definition's values beside the stored ones, per customer."""
    sql = f"""
    SELECT a.cdp_id, a.value AS value, t.value AS stored, t.source AS stored_source
    FROM ({_aggregate_sql(aggregation, prop)}) AS a
    LEFT JOIN {{traits}} AS t ON t.tenant_id = :tenant_id AND t.cdp_id = a.cdp_id AND t.key = :key
    ORDER BY a.cdp_id
    """
    name = f"customers.computed.{aggregation}" + (".property" if prop and aggregation in ("count", "first", "last") else "")
    return Statement(name=name, sql=sql, returns=_returns(aggregation, prop))


def _trait_value(aggregation: str, value):
    if value is None and aggregation in ("count", "distinct_count", "sum"):
        return 0 if aggregation != "sum" else 0.0  # nothing to count or add up is a real zero
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def computed_traits_apply(engine, slug: str, definitions: Iterable[Definition], *, cdp_ids: Iterable[str] | None = None,
                          now: datetime | None = None) -> int:
    """Recompute definitions for these customers (None: everyone); writes only changed values.
    Returns how many trait values changed."""
    now = now or datetime.now(UTC)
    chunks = [None] if cdp_ids is None else engine.chunks(set(cdp_ids))
    rows = []
    for definition in definitions:
        query = statement_for(definition.aggregation, definition.property)
        since = now - timedelta(days=definition.window_days) if definition.window_days else EARLIEST
        for chunk in chunks:
            params = {"tenant_id": slug, "key": definition.name, "event": definition.event, "event_type": definition.event_type,
                      "since": since, "everyone": 1 if chunk is None else 0, "cdp_ids": chunk or []}
            for found in engine.execute(query, params):
                row = trait_row(slug, found["cdp_id"], definition.name, _trait_value(definition.aggregation, found["value"]), now, "computed")
                if found["stored_source"] not in (None, "computed"):
                    continue  # an ordinary trait of that name is the customer's own data: never overwritten (cdp_trait_collisions)
                if row["value"] != found["stored"]:
                    rows.append(row)
    if rows:
        engine.upsert(TRAITS, rows, newer="updated_at")
    return len(rows)


def computed_trait_forget(engine, slug: str, name: str) -> None:
    """Remove a deleted definition's values from every profile."""
    engine.delete(DELETE_COMPUTED_TRAIT, {"tenant_id": slug, "key": name})


DELETE_COMPUTED_TRAIT = deletion(
    "customers.delete_computed_trait", "traits",
    "tenant_id = :tenant_id AND key = :key AND source = 'computed'",
    example={"tenant_id": "acme", "key": "orders"},
)


def _register_examples() -> None:
    """One registered example per statement shape, so the cross-engine suite and the Databricks
    SQL check run them like every other named statement."""
    since = datetime(2026, 1, 1, tzinfo=UTC)
    shapes = [("count", "", "Order Completed", 1), ("count", "revenue", "", 0), ("sum", "revenue", "Order Completed", 1),
              ("min", "revenue", "", 1), ("max", "revenue", "Order Completed", 0), ("distinct_count", "sku", "", 1),
              ("first", "", "", 1), ("last", "", "Product Viewed", 0), ("first", "sku", "", 0), ("last", "sku", "", 1)]
    for aggregation, prop, event, everyone in shapes:
        shape = statement_for(aggregation, prop)
        statement(shape.name + ".example", shape.sql, returns=shape.returns, example={
            "tenant_id": "acme", "key": "ltv", "event": event, "event_type": "", "since": since,
            "everyone": everyone, "cdp_ids": [] if everyone else ["c1", "c3", "c4"],
        })


_register_examples()
