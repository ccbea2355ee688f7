"""Segment refreshes (segments/) for a tenant with 1,000,000 events over 90 days and 100,000
customers on the embedded SQLite engine: 20 definitions, every condition family, each refreshed
in full by the product against the same audience written by hand as SQL and run through raw
sqlite3 (same run, same answers: the gate). The product's refresh is the steady one a schedule
makes (evaluate everyone, work out who entered and left, write them); the first refresh of each,
which writes every member, is printed too. Then 10,000 new calls are loaded and every segment is
refreshed incrementally (the next five minutes of a busy shop: 2,000 visitors' sessions), against the
full refresh (the gate: each leaves the audience the hand-written SQL gives at the new clock).
Targets: full / hand-written <= 1.5 (the ratio line); incremental / full <= 0.1.
It also times the audiences on a local Spark session over a tenth of the data (`--no-spark` skips it); `-v` prints each
definition's times; `--small` runs on a tenth of the data (a quick check, not the figure)."""
from __future__ import annotations

import json
import random
import sqlite3
import sys
from datetime import UTC, datetime, timedelta

from _setup import django_setup, report, timed

EVENTS, CUSTOMERS, DAYS, NEW_EVENTS = 1_000_000, 100_000, 90, 10_000
if "--small" in sys.argv:
    EVENTS, CUSTOMERS = 100_000, 10_000
NAMES = ["Home", "Product Viewed", "Product Viewed", "Product Viewed", "Product Added", "Checkout Started", "Order Completed"]
SKUS = [f"sku-{n:03d}" for n in range(12)]


def ts(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def definitions(now: datetime) -> list[tuple[str, dict, str, tuple]]:
    """(name, definition, hand-written SQLite SQL selecting the audience, its parameters)."""
    t = "tenant_id = 'bench'"
    everyone = f"SELECT DISTINCT cdp_id FROM identities WHERE {t}"

    def days(n):
        return ts(now - timedelta(days=n))

    md = sorted({(now + timedelta(days=i)).strftime("%m-%d") for i in range(8)})
    return [
        ("plan is pro", {"type": "trait", "key": "plan", "op": "equals", "value": "pro"},
         f"SELECT cdp_id FROM traits WHERE {t} AND key = 'plan' AND value = 'pro'", ()),
        ("paid plan, high score", {"all": [{"type": "trait", "key": "plan", "op": "in", "value": ["plus", "pro"]},
                                           {"type": "trait", "key": "score", "op": "gt", "value": 50}]},
         f"SELECT cdp_id FROM traits WHERE {t} AND key = 'plan' AND value IN ('plus', 'pro') "
         f"INTERSECT SELECT cdp_id FROM traits WHERE {t} AND key = 'score' AND number_value > 50", ()),
        ("plan starts with p", {"type": "trait", "key": "plan", "op": "starts_with", "value": "p"},
         f"SELECT cdp_id FROM traits WHERE {t} AND key = 'plan' AND lower(value) LIKE 'p%'", ()),
        ("aged 25 to 40", {"type": "trait", "key": "age", "op": "between", "value": [25, 40]},
         f"SELECT cdp_id FROM traits WHERE {t} AND key = 'age' AND number_value BETWEEN 25 AND 40", ()),
        ("signed up in 30 days", {"type": "trait", "key": "signed_up_at", "op": "within_last_days", "value": 30},
         f"SELECT cdp_id FROM traits WHERE {t} AND key = 'signed_up_at' AND time_value BETWEEN ? AND ?", (days(30), ts(now))),
        ("birthday this week", {"type": "trait", "key": "birthday", "op": "anniversary_in_next_days", "value": 7},
         f"SELECT cdp_id FROM traits WHERE {t} AND key = 'birthday' AND substr(time_value, 6, 5) IN ({','.join('?' * len(md))})",
         tuple(md)),
        ("tagged vip", {"type": "trait", "key": "tags", "op": "includes", "value": "vip"},
         f"SELECT cdp_id FROM traits WHERE {t} AND key = 'tags' AND value_type = 'array' "
         f"AND EXISTS (SELECT 1 FROM json_each(traits.value) WHERE json_each.value = 'vip')", ()),
        ("high lifetime value", {"type": "trait", "key": "lifetime_value", "op": "gte", "value": 300},
         f"SELECT cdp_id FROM traits WHERE {t} AND key = 'lifetime_value' AND number_value >= 300", ()),
        ("3+ orders in 30 days", {"type": "event", "event": "Order Completed", "within_days": 30, "count": {"op": "gte", "value": 3}},
         f"SELECT cdp_id FROM events WHERE {t} AND event = 'Order Completed' AND event_time BETWEEN ? AND ? "
         f"GROUP BY cdp_id HAVING COUNT(*) >= 3", (days(30), ts(now))),
        ("big order in 60 days", {"type": "event", "event": "Order Completed", "within_days": 60,
                                  "where": [{"property": "revenue", "op": "gt", "value": 100}]},
         f"SELECT DISTINCT cdp_id FROM events WHERE {t} AND event = 'Order Completed' AND event_time BETWEEN ? AND ? "
         f"AND json_extract(properties, '$.revenue') > 100", (days(60), ts(now))),
        ("no order in 30 days", {"type": "event", "event": "Order Completed", "within_days": 30, "count": {"op": "eq", "value": 0}},
         f"{everyone} EXCEPT SELECT cdp_id FROM events WHERE {t} AND event = 'Order Completed' AND event_time BETWEEN ? AND ?",
         (days(30), ts(now))),
        ("last viewed sku-001 this week", {"type": "event", "event": "Product Viewed", "last": {"op": "within_last_days", "value": 7},
                                           "last_where": [{"property": "sku", "op": "equals", "value": "sku-001"}]},
         f"SELECT cdp_id FROM (SELECT cdp_id, properties, event_time, ROW_NUMBER() OVER (PARTITION BY cdp_id "
         f"ORDER BY event_time DESC, message_id DESC) AS r FROM events WHERE {t} AND event = 'Product Viewed' AND cdp_id IS NOT NULL) "
         f"WHERE r = 1 AND event_time BETWEEN ? AND ? AND json_extract(properties, '$.sku') = 'sku-001'", (days(7), ts(now))),
        ("added then ordered within a day", {"type": "sequence", "within_days": 14, "within_hours": 24,
                                             "first": {"event": "Product Added"}, "then": {"event": "Order Completed"}},
         f"SELECT DISTINCT a.cdp_id FROM events a WHERE a.{t} AND a.event = 'Product Added' AND a.event_time BETWEEN ? AND ? "
         f"AND EXISTS (SELECT 1 FROM events b WHERE b.{t} AND b.cdp_id = a.cdp_id AND +b.event = 'Order Completed' "
         f"AND b.event_time > a.event_time AND b.event_time <= strftime('%Y-%m-%d %H:%M:%S', a.event_time, '+1 day') || substr(a.event_time, 20))",
         (days(14), ts(now))),
        ("cart abandoners", {"type": "sequence", "within_days": 3, "within_hours": 4, "then_missing": True,
                             "first": {"event": "Product Added"}, "then": {"event": "Order Completed"}},
         f"SELECT DISTINCT a.cdp_id FROM events a WHERE a.{t} AND a.event = 'Product Added' AND a.event_time BETWEEN ? AND ? "
         f"AND a.event_time <= ? AND NOT EXISTS (SELECT 1 FROM events b WHERE b.{t} AND b.cdp_id = a.cdp_id "
         f"AND +b.event = 'Order Completed' AND b.event_time > a.event_time "
         f"AND b.event_time <= strftime('%Y-%m-%d %H:%M:%S', a.event_time, '+4 hours') || substr(a.event_time, 20))",
         (days(3), ts(now), ts(now - timedelta(hours=4)))),
        ("regular visitors", {"type": "regular", "event": "Home", "at_least": 3, "of_last": 4, "unit": "week"},
         f"SELECT cdp_id FROM events WHERE {t} AND event = 'Home' AND event_time > ? AND event_time <= ? "
         f"GROUP BY cdp_id HAVING COUNT(DISTINCT CAST((julianday(?) - julianday(event_time)) / 7 AS INTEGER)) >= 3",
         (days(28), ts(now), ts(now))),
        ("lapsed buyers", {"type": "lapsed", "event": "Order Completed", "days": 30},
         f"SELECT cdp_id FROM events WHERE {t} AND event = 'Order Completed' AND cdp_id IS NOT NULL GROUP BY cdp_id "
         f"HAVING MAX(event_time) < ?", (days(30),)),
        ("pro for 30 days", {"type": "trait_held", "key": "plan", "value": "pro", "days": 30},
         f"SELECT cdp_id FROM traits WHERE {t} AND key = 'plan' AND value = 'pro' "
         f"EXCEPT SELECT cdp_id FROM profile_changes WHERE {t} AND key = 'plan' AND event_time > ? AND value <> '\"pro\"' "
         f"INTERSECT SELECT cdp_id FROM (SELECT cdp_id, value, action, ROW_NUMBER() OVER (PARTITION BY cdp_id ORDER BY event_time DESC) "
         f"AS r FROM profile_changes WHERE {t} AND key = 'plan' AND event_time <= ?) WHERE r = 1 AND action = 'set' AND value = '\"pro\"'",
         (days(30), days(30))),
        ("emailable", {"all": [{"type": "identifier", "id_type": "email"},
                               {"type": "consent", "channel": "email", "purpose": "marketing", "granted": True}]},
         f"SELECT cdp_id FROM identities WHERE {t} AND id_type = 'email' "
         f"INTERSECT SELECT cdp_id FROM consents WHERE {t} AND channel = 'email' AND purpose = 'marketing' AND granted", ()),
        ("10% sample", {"type": "bucket", "salt": "sample", "to_percent": 10},
         f"SELECT cdp_id FROM ({everyone}) WHERE cdp_bucket('bench:sample:' || cdp_id) < 1000", ()),
        ("pro, not sampled, or big spenders", {"any": [{"all": [{"type": "segment", "segment_id": 0},
                                                               {"not": {"type": "bucket", "salt": "sample", "to_percent": 10}}]},
                                                      {"type": "trait", "key": "lifetime_value", "op": "gte", "value": 1000}]},
         f"SELECT cdp_id FROM traits WHERE {t} AND key = 'plan' AND value = 'pro' AND cdp_bucket('bench:sample:' || cdp_id) >= 1000 "
         f"UNION SELECT cdp_id FROM traits WHERE {t} AND key = 'lifetime_value' AND number_value >= 1000", ()),
    ]


def mark(what: str, started=[]) -> None:  # noqa: B006 (the first call's time, kept)
    import time

    started.append(time.perf_counter())
    if "-v" in sys.argv:
        print(f"  {what}: {started[-1] - started[0]:.1f} s", flush=True)


def load(engine, now: datetime, rng: random.Random) -> None:
    mark("loading")
    if engine.vendor == "sqlite":
        return load_sqlite(now)
    from customers.tables import CONSENTS, PROFILE_CHANGES, TRAITS
    from customers.tables import EVENTS as EVENTS_TABLE
    from identity.tables import IDENTITIES

    ids, traits, consents, changes = [], [], [], []
    old = now - timedelta(days=DAYS)
    for c in range(CUSTOMERS):
        cdp = f"c{c:06d}"
        ids.append({"tenant_id": "bench", "id_type": "anonymous_id", "id_value": f"a{c}", "cdp_id": cdp, "first_seen_at": old, "last_seen_at": old})
        if c % 5 < 3:
            ids.append({"tenant_id": "bench", "id_type": "user_id", "id_value": f"u{c}", "cdp_id": cdp, "first_seen_at": old, "last_seen_at": old})
        if c % 5 < 2:
            ids.append({"tenant_id": "bench", "id_type": "email", "id_value": f"p{c}@example.com", "cdp_id": cdp, "first_seen_at": old,
                        "last_seen_at": old})
            consents.append({"tenant_id": "bench", "cdp_id": cdp, "channel": "email", "purpose": "marketing", "granted": rng.random() < 0.7,
                             "updated_at": old, "source": "api"})

        def trait(key, value, kind, number=None, when=None, source="identify", cdp=cdp):
            traits.append({"tenant_id": "bench", "cdp_id": cdp, "key": key, "value": value, "number_value": number, "updated_at": old,
                           "source": source, "value_type": kind, "time_value": when})
        if c % 5 < 3:
            plan = rng.choice(["free", "free", "plus", "pro"])
            trait("plan", plan, "string")
            set_at = now - timedelta(days=rng.randint(1, 80), hours=rng.randint(0, 23))
            changes.append({"tenant_id": "bench", "change_id": f"{cdp}-plan", "cdp_id": cdp, "key": "plan", "value": json.dumps(plan),
                            "action": "set", "source": "identify", "actor": None, "event_time": set_at, "changed_at": set_at})
            score, age = rng.randint(0, 100), rng.randint(18, 75)
            trait("score", str(score), "number", float(score))
            trait("age", str(age), "number", float(age))
            signed = now - timedelta(days=rng.randint(0, 89), hours=rng.randint(0, 23))
            trait("signed_up_at", signed.isoformat(), "string", when=signed)
            born = datetime(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28), tzinfo=UTC)
            trait("birthday", born.date().isoformat(), "string", when=born)
            trait("tags", json.dumps(rng.sample(["vip", "beta", "wholesale", "press"], rng.randint(0, 2))), "array")
            value = round(rng.expovariate(1 / 250), 2)
            trait("lifetime_value", json.dumps(value), "number", value, source="computed")
    mark("customers generated")
    step = timedelta(days=DAYS) / EVENTS
    for table, rows in ((IDENTITIES, ids), (TRAITS, traits), (CONSENTS, consents), (PROFILE_CHANGES, changes)):
        engine.insert_many(table, rows)
    for chunk in range(0, EVENTS, 100_000):
        engine.insert_many(EVENTS_TABLE, [_event(n, now - step * (n + 1), rng, f"c{int(rng.random() * CUSTOMERS):06d}")
                                          for n in range(chunk, min(chunk + 100_000, EVENTS))])


def _hash(i: int, k: int) -> int:
    """A stable 32-bit hash of (row, purpose): the generator's random numbers, the same every run."""
    x = (i * 0x9E3779B1 + k * 0x85EBCA77 + 0x165667B1) & 0xFFFFFFFF
    x = ((x ^ (x >> 15)) * 0x2C1B3C6D) & 0xFFFFFFFF
    x = ((x ^ (x >> 12)) * 0x297A2D39) & 0xFFFFFFFF
    return x ^ (x >> 15)


def load_sqlite(now: datetime) -> None:
    """The same tenant generated by SQL inside SQLite (setting up, not measured): rows made by
    `INSERT ... SELECT` over a counter, random choices from a stable hash, the events' indexes
    built after. Row by row through Python it took most of a minute."""
    from django.db import connection

    raw = connection.connection
    raw.create_function("h", 2, _hash, deterministic=True)
    raw.execute("PRAGMA cache_size = -262144")  # 256 MB while loading: index pages stay in memory
    raw.execute("PRAGMA journal_mode = OFF")  # a throwaway database being filled: no journal, no double write
    raw.execute("PRAGMA synchronous = OFF")
    epoch = int(now.timestamp())
    old = ts(now - timedelta(days=DAYS))

    def at(seconds_ago: str) -> str:  # a time `seconds_ago` (an SQL integer expression) before now, in the engine's format
        return f"(strftime('%Y-%m-%d %H:%M:%S', {epoch} - ({seconds_ago}), 'unixepoch') || '.000000')"

    counter = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) "
    customers = counter.format(last=CUSTOMERS - 1)
    cdp = "('c' || printf('%06d', i))"
    raw.execute("BEGIN")
    raw.execute(customers + "INSERT INTO identities (tenant_id, id_type, id_value, cdp_id, first_seen_at, last_seen_at) "
                f"SELECT 'bench', 'anonymous_id', 'a' || i, {cdp}, '{old}', '{old}' FROM n "
                f"UNION ALL SELECT 'bench', 'user_id', 'u' || i, {cdp}, '{old}', '{old}' FROM n WHERE i % 5 < 3 "
                f"UNION ALL SELECT 'bench', 'email', 'p' || i || '@example.com', {cdp}, '{old}', '{old}' FROM n WHERE i % 5 < 2")
    raw.execute(customers + "INSERT INTO consents (tenant_id, cdp_id, channel, purpose, granted, updated_at, source) "
                f"SELECT 'bench', {cdp}, 'email', 'marketing', h(i, 10) % 10 < 7, '{old}', 'api' FROM n WHERE i % 5 < 2")
    # Customers with a profile (three in five): a plan, a score, an age, a sign-up time, a birthday,
    # tags and a lifetime value; the plan's change in the profile change log.
    plan = "(CASE h(i, 11) % 4 WHEN 3 THEN 'pro' WHEN 2 THEN 'plus' ELSE 'free' END)"
    signed = "((h(i, 14) % 90) * 86400 + (h(i, 15) % 24) * 3600)"
    born = "printf('%04d-%02d-%02d', 1950 + h(i, 16) % 56, 1 + h(i, 17) % 12, 1 + h(i, 18) % 28)"
    tags = ("(CASE h(i, 19) % 3 WHEN 0 THEN '[]' WHEN 1 THEN json_array(t1) ELSE json_array(t1, t2) END)")
    value = "round(-250 * ln(1 - (h(i, 22) % 1000000) / 1000000.0), 2)"
    columns = "tenant_id, cdp_id, key, value, number_value, updated_at, source, value_type, time_value"
    raw.execute(customers + ", p AS (SELECT i, " + cdp + " AS cdp, " + plan + " AS plan, h(i, 12) % 101 AS score, 18 + h(i, 13) % 58 AS age, "
                + signed + " AS signed, " + born + " AS born, "
                "(SELECT name FROM (SELECT 0 AS k, 'vip' AS name UNION ALL SELECT 1, 'beta' UNION ALL SELECT 2, 'wholesale' "
                "UNION ALL SELECT 3, 'press') WHERE k = h(i, 20) % 4) AS t1, "
                "(SELECT name FROM (SELECT 0 AS k, 'vip' AS name UNION ALL SELECT 1, 'beta' UNION ALL SELECT 2, 'wholesale' "
                "UNION ALL SELECT 3, 'press') WHERE k = (h(i, 20) % 4 + 1 + h(i, 21) % 3) % 4) AS t2, "
                + value + " AS ltv FROM n WHERE i % 5 < 3) "
                f"INSERT INTO traits ({columns}) "
                f"SELECT 'bench', cdp, 'plan', plan, NULL, '{old}', 'identify', 'string', NULL FROM p "
                f"UNION ALL SELECT 'bench', cdp, 'score', CAST(score AS TEXT), score, '{old}', 'identify', 'number', NULL FROM p "
                f"UNION ALL SELECT 'bench', cdp, 'age', CAST(age AS TEXT), age, '{old}', 'identify', 'number', NULL FROM p "
                f"UNION ALL SELECT 'bench', cdp, 'signed_up_at', strftime('%Y-%m-%dT%H:%M:%S+00:00', {epoch} - signed, 'unixepoch'), NULL, "
                f"'{old}', 'identify', 'string', {at('signed')} FROM p "
                f"UNION ALL SELECT 'bench', cdp, 'birthday', born, NULL, '{old}', 'identify', 'string', born || ' 00:00:00.000000' FROM p "
                f"UNION ALL SELECT 'bench', cdp, 'tags', {tags}, NULL, '{old}', 'identify', 'array', NULL FROM p "
                f"UNION ALL SELECT 'bench', cdp, 'lifetime_value', CAST(ltv AS TEXT), ltv, '{old}', 'computed', 'number', NULL FROM p")
    set_at = "((1 + h(i, 23) % 80) * 86400 + (h(i, 24) % 24) * 3600)"
    raw.execute(customers + "INSERT INTO profile_changes (tenant_id, change_id, cdp_id, key, value, action, source, actor, event_time, changed_at) "
                f"SELECT 'bench', {cdp} || '-plan', {cdp}, 'plan', json_quote({plan}), 'set', 'identify', NULL, {at(set_at)}, {at(set_at)} "
                "FROM n WHERE i % 5 < 3")
    raw.execute("COMMIT")
    mark("customers inserted")
    indexes = raw.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        raw.execute(f'DROP INDEX "{name}"')
    # Events one every 7.776 s over 90 days back from now, on a random customer each.
    step_us = DAYS * 86400 * 1_000_000 // EVENTS
    names = " ".join(f"WHEN {k} THEN '{name}'" for k, name in enumerate(NAMES))
    event_at = (f"(strftime('%Y-%m-%d %H:%M:%S', ({epoch} * 1000000 - (i + 1) * {step_us}) / 1000000, 'unixepoch') || '.' || "
                f"printf('%06d', ({epoch} * 1000000 - (i + 1) * {step_us}) % 1000000))")
    raw.execute("BEGIN")
    raw.execute(counter.format(last=EVENTS - 1) + f", e AS (SELECT i, CASE h(i, 1) % {len(NAMES)} {names} END AS event, {event_at} AS at FROM n) "
                "INSERT INTO events (tenant_id, message_id, type, event, cdp_id, properties, event_time, received_at, loaded_at) "
                "SELECT 'bench', 'm' || printf('%07d', i), CASE event WHEN 'Home' THEN 'page' ELSE 'track' END, event, "
                f"'c' || printf('%06d', h(i, 2) % {CUSTOMERS}), "
                "CASE event WHEN 'Order Completed' THEN json_object('revenue', (10 + 7 * (h(i, 3) % 85)) / 2.0) "
                f"ELSE json_object('sku', printf('sku-%03d', h(i, 3) % {len(SKUS)})) END, at, at, at FROM e")
    mark("events inserted")
    for _, create in indexes:
        raw.execute(create)
    raw.execute("COMMIT")
    raw.execute("PRAGMA cache_size = -2000")  # back to the settings of what is measured
    raw.execute("PRAGMA journal_mode = WAL")
    raw.execute("PRAGMA synchronous = NORMAL")
    mark("events indexed")


SKU_PROPS = [json.dumps({"sku": sku}) for sku in SKUS]
ORDER_PROPS = [json.dumps({"revenue": r / 2}) for r in range(10, 600, 7)]


def _event(n: int, at: datetime, rng: random.Random, cdp: str, loaded: datetime | None = None) -> dict:
    name = NAMES[int(rng.random() * len(NAMES))]
    pool = ORDER_PROPS if name == "Order Completed" else SKU_PROPS
    return {"tenant_id": "bench", "message_id": f"m{n:07d}", "type": "page" if name == "Home" else "track", "event": name,
            "cdp_id": cdp, "properties": pool[int(rng.random() * len(pool))], "event_time": at, "received_at": at,
            "loaded_at": loaded or at}


def main() -> int:
    import os

    django_setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from customers.tables import EVENTS as EVENTS_TABLE
    from lakehouse import get_engine
    from lakehouse.functions import register_sqlite
    from segments import services
    from segments.models import Segment, SegmentRun
    from segments.selectors import segment_members_all
    from tenancy import services as tenancy

    call_command("lakehouse", "migrate", stdout=open(os.devnull, "w"))
    tenant = tenancy.tenant_create(slug="bench", actor="bench")
    engine, rng = get_engine(), random.Random(5)
    now = timezone.now().replace(microsecond=0)
    loading = timed(lambda: load(engine, now, rng))
    if "-v" in sys.argv:
        print(f"loaded in {loading:.1f} s", flush=True)
    raw = sqlite3.connect(connection.settings_dict["NAME"])
    register_sqlite(raw)

    specs = definitions(now)
    ids = []
    for name, definition, _, _ in specs:
        if "any" in definition:  # the last names the first segment
            definition["any"][0]["all"][0]["segment_id"] = ids[0]
        ids.append(services.segment_create(tenant=tenant, name=name, definition=definition, actor="bench").id)
    first = 0.0
    for i, (name, *_rest) in zip(ids, specs):
        took = timed(lambda i=i: services.segment_refresh(tenant=tenant, segment_id=i, trigger="bench", full=True, now=now))
        first += took
        if "-v" in sys.argv:
            print(f"  first refresh of {name}: {took:.2f} s", flush=True)
    product, reference, failed = 0.0, 0.0, []
    rows = {}
    for sid, (name, _, hand, params) in zip(ids, specs):
        mine = timed(lambda sid=sid: services.segment_refresh(tenant=tenant, segment_id=sid, trigger="bench", full=True, now=now))
        theirs = timed(lambda hand=hand, params=params, name=name: rows.update({name: raw.execute(hand, params).fetchall()}))
        product, reference = product + mine, reference + theirs
        if "-v" in sys.argv:
            print(f"  {name}: refresh {mine:.2f} s, hand-written {theirs:.2f} s", flush=True)
        stored = {r[0] for r in raw.execute("SELECT cdp_id FROM segment_members WHERE tenant_id = 'bench' AND segment_id = ?", (sid,))}
        expected = {r[0] for r in rows[name]}
        if stored != expected or not expected:
            failed.append(f"{name}: product {len(stored)}, hand-written {len(expected)}")
        if "-v" in sys.argv:
            print(f"  {name}: {len(expected)} members", flush=True)
    # 10k new calls, loaded now: the next five minutes of a busy shop, 2,000 visitors' sessions of
    # five calls each, on customers it already has.
    later = timezone.now()
    visitors = rng.sample(range(CUSTOMERS), NEW_EVENTS // 5)
    engine.insert_many(EVENTS_TABLE, [_event(EVENTS + n, later - timedelta(minutes=rng.randint(0, 4)), rng, f"c{visitors[n // 5]:06d}",
                                             loaded=later) for n in range(NEW_EVENTS)])
    clock = now + timedelta(minutes=5)  # the next scheduled refresh
    incremental = 0.0
    for i, (name, *_rest) in zip(ids, specs):
        took = timed(lambda i=i: services.segment_refresh(tenant=tenant, segment_id=i, trigger="bench", now=clock))
        incremental += took
        if "-v" in sys.argv:
            print(f"  incremental {name}: {took:.2f} s", flush=True)
    kinds = set(SegmentRun.objects.filter(trigger="bench").order_by("-id")[:len(ids)].values_list("kind", flat=True))
    if kinds != {"incremental"}:
        failed.append(f"the refreshes after new calls were {kinds}, not incremental")
    # The gate: each incremental refresh left exactly the audience the hand-written SQL gives now.
    for sid, (name, _, hand, params) in zip(ids, definitions(clock)):
        if set(segment_members_all(tenant=tenant, segment_id=sid)) != {r[0] for r in raw.execute(hand, params)}:
            failed.append(f"{name}: after the incremental refresh the members differ from the hand-written audience")
    if failed:
        print("correctness gate failed:\n  " + "\n  ".join(failed))
        return 1
    figures = {"events": str(EVENTS), "customers": str(CUSTOMERS), "definitions": str(len(specs)),
               "first_refresh_seconds": first, "full_refresh_seconds": product, "hand_written_seconds": reference,
               "incremental_after_10k_events_seconds": incremental, "incremental_over_full": incremental / product, "members": str(Segment.objects.filter(tenant_id=tenant.id).count())}
    if "--no-spark" not in sys.argv and "--small" not in sys.argv:
        figures["spark_seconds_tenth_of_data"] = spark_time(specs, now)
    report(figures, product / reference)
    return 0


def spark_time(specs, now: datetime) -> float:
    """The 20 audiences on a local Spark session (2 cores, Parquet) over a tenth of the data."""
    import shutil
    import tempfile

    from lakehouse.backends.spark import SparkEngine, local_session
    from lakehouse.migrate import migrate
    from lakehouse.schema import TABLES, TableRegistry
    from segments.compiler import compile_audience

    global EVENTS, CUSTOMERS
    EVENTS, CUSTOMERS = EVENTS // 10, CUSTOMERS // 10
    warehouse = tempfile.mkdtemp(prefix="cdp-bench-spark-")
    session = local_session("local[2]", warehouse)
    try:
        engine = SparkEngine(session, schema="cdp_bench")
        read = ("events", "traits", "identities", "consents", "profile_changes", "segment_members")  # what the audiences read
        migrate(engine, tables=TableRegistry({t.name: t for t in TABLES if t.name in read}))
        load(engine, now, random.Random(5))
        compiled = [compile_audience(d, tenant_id="bench", now=now) for _, d, _, _ in specs if "any" not in d]
        return timed(lambda: [engine.execute(c.statement(), c.params).dicts() for c in compiled])
    finally:
        session.stop()
        shutil.rmtree(warehouse, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
