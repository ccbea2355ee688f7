"""A small, deterministic customer dataset, loaded into every engine the same way.

Two tenants share customer ids on purpose: a statement that forgets `tenant_id` returns the
other tenant's rows and the cross-engine checks see it.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

BASE = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
TENANTS = ("acme", "other")


def events() -> list[dict]:
    rows = []
    for tenant_index, tenant in enumerate(TENANTS):
        for c in range(1, 6):
            cdp_id = f"c{c}"
            for n in range(c + tenant_index * 2):
                when = BASE + timedelta(days=n, hours=c, seconds=tenant_index)
                kind = ("page", "track", "track", "identify")[n % 4]
                event = {"page": "Home", "track": "Order Completed" if n % 2 else "Product Viewed", "identify": None}[kind]
                properties = {"revenue": round(10.5 * (n + 1) + c, 2), "sku": f"sku-{n}"} if event == "Order Completed" else {"sku": f"sku-{n}"}
                rows.append({
                    "tenant_id": tenant, "message_id": f"{tenant}-{cdp_id}-{n}", "type": kind, "event": event,
                    "cdp_id": cdp_id, "user_id": f"u{c}", "anonymous_id": f"a{c}",
                    "properties": json.dumps(properties), "traits": None,
                    "context": json.dumps({"page": {"path": f"/p/{n}"}, "ip": "192.0.2.1"}),
                    "event_time": when, "sent_at": when, "received_at": when + timedelta(seconds=2), "loaded_at": when + timedelta(minutes=1),
                })
    return rows


def traits() -> list[dict]:
    rows = []
    for tenant_index, tenant in enumerate(TENANTS):
        for c in range(1, 6):
            plan = "pro" if (c + tenant_index) % 2 else "free"
            for key, value, number, kind in (("email", f"c{c}@example.com", None, "string"), ("plan", plan, None, "string"),
                                             ("ltv", str(c * 100.25), c * 100.25, "number")):
                rows.append({"tenant_id": tenant, "cdp_id": f"c{c}", "key": key, "value": value, "number_value": number,
                             "updated_at": BASE + timedelta(hours=c), "source": "identify", "value_type": kind})
            renews = BASE + timedelta(days=c + tenant_index, hours=c)  # a date trait (time_value), for date conditions
            rows.append({"tenant_id": tenant, "cdp_id": f"c{c}", "key": "renews_at", "value": renews.isoformat(), "number_value": None,
                         "time_value": renews, "updated_at": BASE + timedelta(hours=c), "source": "identify", "value_type": "string"})
            if c % 3:  # a name, in an order of its own (the customers list sorts by it, the nameless last)
                rows.append({"tenant_id": tenant, "cdp_id": f"c{c}", "key": "name", "value": ["", "Zed", "Amy", "", "Mia", "Bob"][c],
                             "number_value": None, "updated_at": BASE + timedelta(hours=c), "source": "identify", "value_type": "string"})
            if c % 2 == 0:  # a computed trait
                rows.append({"tenant_id": tenant, "cdp_id": f"c{c}", "key": "orders", "value": str(c + tenant_index), "number_value": float(c + tenant_index),
                             "updated_at": BASE + timedelta(hours=c, minutes=9), "source": "computed", "value_type": "number"})
            if (c + tenant_index) % 2:  # an operator's edit (console or API), which merges keep
                rows.append({"tenant_id": tenant, "cdp_id": f"c{c}", "key": "tier", "value": f"gold-{tenant_index}", "number_value": None,
                             "updated_at": BASE + timedelta(hours=c, minutes=5), "source": "console", "value_type": "string"})
    return rows


def identities() -> list[dict]:
    rows = []
    for tenant_index, tenant in enumerate(TENANTS):
        for c in range(1, 6):
            for id_type, value in (("user_id", f"u{c}"), ("anonymous_id", f"a{c}"), ("email", f"c{c}@example.com")):
                rows.append({"tenant_id": tenant, "id_type": id_type, "id_value": value, "cdp_id": f"c{c + tenant_index}",
                             "first_seen_at": BASE + timedelta(minutes=c), "last_seen_at": BASE + timedelta(days=c)})
    return rows


def consents() -> list[dict]:
    rows = []
    for tenant_index, tenant in enumerate(TENANTS):
        for c in range(1, 4):
            for channel, purpose in (("email", "marketing"), ("sms", "marketing"), ("*", "analytics")):
                rows.append({"tenant_id": tenant, "cdp_id": f"c{c}", "channel": channel, "purpose": purpose,
                             "granted": (c + tenant_index + len(channel)) % 2 == 0, "updated_at": BASE + timedelta(days=c), "source": "api"})
    return rows


def identity_rows() -> dict[str, list[dict]]:
    """Edges, issued ids, merges and conflicts: the identity tables' share of the dataset."""
    edges, ids, merges, conflicts = [], [], [], []
    for tenant_index, tenant in enumerate(TENANTS):
        for c in range(1, 6):
            at = BASE + timedelta(minutes=c, seconds=tenant_index)
            edges.append({"tenant_id": tenant, "a_type": "anonymous_id", "a_value": f"a{c}", "b_type": "user_id", "b_value": f"u{c}",
                          "first_seen_at": at, "message_id": f"{tenant}-m{c}"})
            edges.append({"tenant_id": tenant, "a_type": "email", "a_value": f"c{c}@example.com", "b_type": "user_id", "b_value": f"u{c}",
                          "first_seen_at": at + timedelta(hours=tenant_index + 1), "message_id": f"{tenant}-e{c}"})
            ids.append({"tenant_id": tenant, "cdp_id": f"old-{c}", "id_type": "user_id", "id_value": f"u{c}", "issued_at": at})
            merges.append({"tenant_id": tenant, "merge_id": f"{tenant}-merge-{c}", "cdp_id": f"c{c}", "merged_cdp_id": f"old-{c}",
                           "a_type": "anonymous_id", "a_value": f"a{c}", "b_type": "user_id", "b_value": f"u{c}", "message_id": f"{tenant}-m{c}",
                           "rule": "anonymous_id and user_id seen together", "run_id": c + tenant_index, "merged_at": at})
            conflicts.append({"tenant_id": tenant, "a_type": "device_id", "a_value": f"d{c}", "b_type": "user_id", "b_value": f"u{c}",
                              "reason": "different user_id", "cdp_id": f"c{c}", "other_cdp_id": f"c{c + 1 + tenant_index}",
                              "message_id": f"{tenant}-d{c}", "detected_at": at})
        for c in range(1, 3 + tenant_index):  # a kiosk shared by several people: a different count per tenant
            conflicts.append({"tenant_id": tenant, "a_type": "device_id", "a_value": "kiosk", "b_type": "user_id", "b_value": f"u{c}",
                              "reason": "different user_id", "cdp_id": "c1", "other_cdp_id": f"c{c}", "message_id": f"{tenant}-k{c}",
                              "detected_at": BASE + timedelta(hours=2, minutes=c)})
    return {"identity_edges": edges, "customer_ids": ids, "identity_merges": merges, "identity_conflicts": conflicts}


def profile_changes() -> list[dict]:
    rows = []
    for tenant_index, tenant in enumerate(TENANTS):
        for c in range(1, 4 + tenant_index):
            at = BASE + timedelta(hours=c, minutes=5)
            rows.append({"tenant_id": tenant, "change_id": f"{tenant}-ch{c}", "cdp_id": f"c{c}", "key": "tier", "value": f'"gold-{c}"',
                         "action": "set", "source": "console", "actor": "ops@example.com", "event_time": at, "changed_at": at})
            rows.append({"tenant_id": tenant, "change_id": f"{tenant}-ch{c}u", "cdp_id": f"c{c}", "key": "nickname", "value": None,
                         "action": "unset", "source": "api", "actor": "key:ops", "event_time": at, "changed_at": at + timedelta(minutes=1)})
    return rows


def segment_rows() -> dict[str, list[dict]]:
    """Segment 1's members and its log: c1 entered and stayed, c2 entered and left, c3 (and c4 in
    the other tenant) entered later."""
    members, log = [], []
    for tenant_index, tenant in enumerate(TENANTS):
        story = [("c1", "entered", 5 * tenant_index), ("c2", "entered", 1), ("c2", "exited", 30), ("c3", "entered", 40)]
        story += [("c4", "entered", 50)] if tenant_index else []
        for n, (cdp_id, change, minutes) in enumerate(story):
            log.append({"tenant_id": tenant, "change_id": f"{tenant}-s{n}", "segment_id": 1, "cdp_id": cdp_id, "change": change,
                        "changed_at": BASE + timedelta(days=20, minutes=minutes), "run_id": n})
        for cdp_id, _, minutes in story:
            if cdp_id != "c2":
                members.append({"tenant_id": tenant, "segment_id": 1, "cdp_id": cdp_id, "entered_at": BASE + timedelta(days=20, minutes=minutes)})
    return {"segment_members": members, "segment_membership_log": log}


def load(engine) -> None:
    from customers.tables import CONSENTS, EVENTS, PROFILE_CHANGES, TRAITS
    from identity.tables import IDENTITIES
    from lakehouse.schema import TABLES

    for name, rows in {**identity_rows(), **segment_rows()}.items():
        engine.insert_many(TABLES[name], rows)

    engine.insert_many(EVENTS, events())
    engine.insert_many(TRAITS, traits())
    engine.insert_many(IDENTITIES, identities())
    engine.insert_many(CONSENTS, consents())
    engine.insert_many(PROFILE_CHANGES, profile_changes())
