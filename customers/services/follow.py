"""A customer's data follows its identifiers after a merge or split.

Identity writes its own tables and says who moved (`identity.services.Outcome`); this moves the
data customers own, in the caller's transaction:
- events go to the customer holding their strongest identifier now (the rule is identity's,
  `Outcome.owner_of`);
- traits are rebuilt from the identify and group calls each customer now owns; operators' edits
  (console, API) are not calls, so they are kept, and those of a customer that no longer exists
  go to the one that absorbed it, where they win or lose by time like any write;
- consent of a customer that no longer exists goes to the one that absorbed it;
- computed traits are recomputed for everyone affected.
"""
from __future__ import annotations

import json

from customers import sql
from customers.services.computed_traits import computed_traits_for_customers
from customers.tables import CONSENTS, EVENTS
from customers.traits import trait_rows_from_call, traits_save
from tenancy.types import TenantRef


def event_call(event: dict) -> dict:
    """A stored event as the call it came from, as far as identifiers and traits go."""
    return {"type": event["type"], "userId": event["user_id"], "anonymousId": event["anonymous_id"], "groupId": event.get("group_id"),
            "traits": json.loads(event["traits"]) if event["traits"] else None, "context": json.loads(event["context"] or "{}")}


def _rows(engine, statement, tenant: TenantRef, cdp_ids) -> list[dict]:
    rows = []
    for chunk in engine.chunks(cdp_ids):
        rows.extend(engine.execute(statement, {"tenant_id": tenant.slug, "cdp_ids": chunk}).dicts())
    return rows


def profiles_follow(engine, tenant: TenantRef, outcome) -> None:
    """Move the data of the customers an identity run moved (`outcome.affected`)."""
    owners = set(outcome.affected)
    if not owners:
        return
    retired = outcome.retired
    events = _rows(engine, sql.EVENTS_OF_CUSTOMERS, tenant, owners)
    changed = []
    for event in events:
        owner = outcome.owner_of(event_call(event))
        if owner != event["cdp_id"]:
            event["cdp_id"] = owner
            changed.append(event)
    if changed:
        engine.upsert(EVENTS, changed)
    edits = _rows(engine, sql.OPERATOR_TRAITS_OF_CUSTOMERS, tenant, set(retired))
    for chunk in engine.chunks(owners, writes=True):
        engine.delete(sql.DELETE_DERIVED_TRAITS, {"tenant_id": tenant.slug, "cdp_ids": chunk})
    for chunk in engine.chunks(retired, writes=True):
        engine.delete(sql.DELETE_TRAITS_OF_CUSTOMERS, {"tenant_id": tenant.slug, "cdp_ids": chunk})
    rows = [row for event in events if event["cdp_id"] and event["type"] in ("identify", "group") and event["traits"]
            for row in trait_rows_from_call(tenant.slug, event["cdp_id"], event_call(event), event["event_time"])]
    rows += [{**edit, "cdp_id": retired[edit["cdp_id"]]} for edit in edits if retired.get(edit["cdp_id"])]
    if rows:
        traits_save(engine, rows)
    _consent_follow(engine, tenant, retired)
    computed_traits_for_customers(engine, tenant, owners - set(retired))


def _consent_follow(engine, tenant: TenantRef, retired: dict[str, str | None]) -> None:
    if not retired:
        return
    moved = [{**row, "cdp_id": retired[row["cdp_id"]]} for row in _rows(engine, sql.CONSENTS_OF_CUSTOMERS, tenant, set(retired))
             if retired.get(row["cdp_id"])]
    for chunk in engine.chunks(retired, writes=True):
        engine.delete(sql.DELETE_CONSENTS_OF_CUSTOMERS, {"tenant_id": tenant.slug, "cdp_ids": chunk})
    if moved:
        engine.upsert(CONSENTS, moved, newer="updated_at")
