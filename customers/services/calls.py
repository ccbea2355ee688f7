"""Applying tracking calls to profiles: the one way customer data enters the lakehouse.

The loader (tracking) hands each tenant's accepted calls here; so do the API and the console when
they create a customer. Identity resolves the calls' identifiers first (its tables only), the data
of customers that merged or split follows them (`customers.services.follow`), then events are inserted
skipping known messageIds, traits upserted last-write-wins and logged in the profile change log,
and computed traits recomputed for the customers touched. Every step is idempotent, so applying
the same calls again changes nothing.
"""
from __future__ import annotations

import json
from datetime import datetime

from django.utils import timezone

from customers.privacy import suppressed_calls
from customers.services.computed_traits import computed_traits_for_customers
from customers.services.follow import profiles_follow
from customers.tables import EVENTS, PROFILE_CHANGES
from customers.traits import trait_rows_from_call, traits_save
from identity import selectors as identity_selectors
from identity.extract import calls_graph
from identity.services import resolve_and_apply
from kernel.times import parse_time
from lakehouse import get_engine
from tenancy.types import TenantRef

_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def event_row(slug: str, cdp_id: str | None, call: dict, loaded_at: datetime) -> dict:
    compact = lambda value: None if value is None else _DUMPS(value)  # noqa: E731
    return {
        "tenant_id": slug, "message_id": call["messageId"], "type": call["type"],
        "event": call.get("event") or call.get("name"), "cdp_id": cdp_id,
        "user_id": call.get("userId"), "anonymous_id": call.get("anonymousId"),
        "properties": compact(call.get("properties")), "traits": compact(call.get("traits")), "context": compact(call.get("context")),
        "event_time": parse_time(call["timestamp"]), "sent_at": parse_time(call.get("sentAt")),
        "received_at": parse_time(call["receivedAt"]), "loaded_at": loaded_at, "group_id": call.get("groupId"),
    }


def without_suppressed(tenant: TenantRef, calls: list[dict]) -> list[dict]:
    """Drop calls naming an identifier suppressed or erased since they were accepted (checked fresh)."""
    dropped = suppressed_calls(tenant=tenant, calls=[(c["messageId"], c) for c in calls], fresh=True)
    return [c for c in calls if c["messageId"] not in dropped] if dropped else calls


def calls_apply(engine, tenant: TenantRef, calls: list[dict]) -> dict[str, str | None]:
    """Write one tenant's calls to the lakehouse. Safe to repeat with the same calls.
    Returns the customer (cdp_id) of each call, by messageId (None: no usable identifier)."""
    calls = sorted(calls, key=lambda c: (c["timestamp"], c["messageId"]))
    rules = identity_selectors.rules_for(tenant.id)
    previous_ids = identity_selectors.alias_previous_ids(calls)
    # An alias's previousId is a user id when the tenant knows it as one: stored, or named as a
    # userId by a call of this same load (an identify and the alias that renames its user usually
    # arrive together).
    in_this_load = {str(c["userId"]).strip() for c in calls if c.get("userId")} & set(previous_ids)
    known = in_this_load | identity_selectors.known_user_ids(engine, tenant=tenant, values=sorted(set(previous_ids) - in_this_load))
    graph, per_call = calls_graph(calls, rules, known_user_ids=known)
    seeds = {node for nodes in per_call for node in nodes}
    outcome = resolve_and_apply(engine, tenant, seeds=seeds, new=graph, rules=rules)
    profiles_follow(engine, tenant, outcome)
    now = timezone.now()
    events, traits = [], []
    for call, nodes in zip(calls, per_call):
        at = parse_time(call["timestamp"])
        cdp_id = next((outcome.assignment[node] for node in nodes if node in outcome.assignment), None)
        events.append(event_row(tenant.slug, cdp_id, call, now))
        if cdp_id:
            traits.extend((call["messageId"], row) for row in trait_rows_from_call(tenant.slug, cdp_id, call, at))
    engine.insert_many(EVENTS, events, skip_existing=True)
    traits_save(engine, [row for _, row in traits])
    changes_record(engine, [change_row(row, change_id=f"{message_id}:{row['key']}", at=now) for message_id, row in traits])
    # Customers that merged or split were recomputed while their data moved; these got new events.
    computed_traits_for_customers(engine, tenant, {row["cdp_id"] for row in events if row["cdp_id"]})
    return {row["message_id"]: row["cdp_id"] for row in events}


def change_row(trait: dict, *, change_id: str, at: datetime, actor: str | None = None, unset: bool = False) -> dict:
    """The profile change log's row for one trait write."""
    kind = trait["value_type"]
    value = None if unset else "null" if kind == "null" else _DUMPS(trait["value"]) if kind == "string" else trait["value"]
    return {"tenant_id": trait["tenant_id"], "change_id": change_id, "cdp_id": trait["cdp_id"], "key": trait["key"], "value": value,
            "action": "unset" if unset else "set", "source": trait["source"], "actor": actor, "event_time": trait["updated_at"],
            "changed_at": at}


def changes_record(engine, rows: list[dict]) -> None:
    """Append to the profile change log; a replayed call's changes are recorded once (their ids
    derive from its messageId)."""
    if rows:
        engine.insert_many(PROFILE_CHANGES, rows, skip_existing=True)


def customer_events_record(*, tenant: TenantRef, events: list[dict]) -> int:
    """Events another app observed about customers (a message sent, opened...), written as track
    calls: each {message_id, cdp_id, event, properties, event_time}. Once per message_id, however
    often asked (the table's key), so a caller may repeat a batch after a crash."""
    now = timezone.now()
    rows = [event_row(tenant.slug, e["cdp_id"], {"messageId": e["message_id"], "type": "track", "event": e["event"],
                                                 "properties": e.get("properties") or {}, "timestamp": e["event_time"].isoformat(),
                                                 "receivedAt": now.isoformat()}, now) for e in events]
    engine = get_engine()
    engine.insert_many(EVENTS, rows, skip_existing=True)
    return len(rows)
