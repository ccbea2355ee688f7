"""The same audience on every engine: random definitions over random data, compiled and run on
SQLite, PostgreSQL and local Spark, against the plain-Python reference evaluator, at a fixed
clock; with NULLs, unset traits, missing and mistyped properties, calls of no customer, and
consent decided twice."""
from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from segments.compiler import compile_audience, compile_count
from segments.definitions import definition_errors
from tests.segments.reference import Reference

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
EVENTS = ["Order Completed", "Product Viewed", "Home"]
PLANS = ["pro", "free", "Pro Plus", "trial"]


def dataset(rng: random.Random, tenant: str) -> dict:
    identities, traits, events, consents, changes = [], [], [], [], []
    for n in range(24):
        c = f"c{n:02d}"
        at = NOW - timedelta(days=90)
        identities.append({"tenant_id": tenant, "id_type": "anonymous_id", "id_value": f"a{n}", "cdp_id": c, "first_seen_at": at, "last_seen_at": at})
        if rng.random() < 0.6:
            identities.append({"tenant_id": tenant, "id_type": "user_id", "id_value": f"u{n}", "cdp_id": c, "first_seen_at": at, "last_seen_at": at})
        if rng.random() < 0.4:
            identities.append({"tenant_id": tenant, "id_type": "email", "id_value": f"p{n}@example.com", "cdp_id": c, "first_seen_at": at,
                               "last_seen_at": at})
        def row(key, value, number=None, kind="string", when=None, c=c, at=at):
            traits.append({"tenant_id": tenant, "cdp_id": c, "key": key, "value": value, "number_value": number, "updated_at": at,
                           "source": "identify", "value_type": kind, "time_value": when})
        roll = rng.random()
        if roll < 0.75:
            plan = rng.choice(PLANS)
            row("plan", plan)
            # Its history in the profile change log, oldest first, ending with the value it has now.
            days_ago = sorted(rng.sample(range(1, 80), rng.randint(1, 3)), reverse=True)
            for i, ago in enumerate(days_ago):
                last = i == len(days_ago) - 1
                value = plan if last or rng.random() < 0.5 else rng.choice(PLANS)
                unset = not last and rng.random() < 0.15
                when = NOW - timedelta(days=ago, hours=rng.randint(0, 23))
                changes.append({"tenant_id": tenant, "change_id": f"{c}-plan-{i}", "cdp_id": c, "key": "plan",
                                "value": None if unset else json.dumps(value), "action": "unset" if unset else "set",
                                "source": "identify", "actor": None, "event_time": when, "changed_at": when + timedelta(seconds=5)})
        elif roll < 0.85:
            row("plan", None, kind=None)  # unset: the row stays, without a value
        if rng.random() < 0.6:
            tags = rng.sample(["vip", "beta", "churn-risk", 7, True, None], rng.randint(0, 3))
            row("tags", json.dumps(tags, separators=(",", ":")), kind="array")
        elif rng.random() < 0.3:
            row("tags", "vip", kind="string")  # not an array: includes nothing
        if rng.random() < 0.7:
            born = rng.choice([datetime(1992, 2, 29, 8, tzinfo=UTC), datetime(1990, 6, 15, tzinfo=UTC), datetime(1985, 6, 14, 23, tzinfo=UTC),
                               datetime(1988, 7, 1, tzinfo=UTC), datetime(1979, 3, 1, tzinfo=UTC), datetime(2000, 12, 31, tzinfo=UTC)])
            row("birthday", born.date().isoformat(), kind="string", when=born)
        if rng.random() < 0.7:
            score = rng.choice([0, 5, 10, 42, 99, 3.5])
            row("score", json.dumps(score), float(score), "number")
        if rng.random() < 0.5:
            row("flag", rng.choice(["true", "false"]), kind="boolean")
        if rng.random() < 0.7:
            when = NOW + timedelta(days=rng.randint(-60, 20), hours=rng.randint(0, 23))
            row("renews_at", when.isoformat(), kind="string", when=when)
        for k in range(rng.randint(0, 6)):
            props = {}
            if rng.random() < 0.8:
                props["revenue"] = rng.choice([0, 10, 25, 120, "30", "n/a", True])
            if rng.random() < 0.6:
                props["sku"] = rng.choice(["s1", "s2", "S10", 7])
            if rng.random() < 0.3:
                props["coupon"] = None
            when = NOW - timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 23), minutes=rng.choice([0, 0, 17]))
            events.append({"tenant_id": tenant, "message_id": f"{c}-{k}", "type": rng.choice(["track", "track", "page"]),
                           "event": rng.choice(EVENTS), "cdp_id": c, "properties": json.dumps(props), "event_time": when,
                           "received_at": when})
        for channel in rng.sample(["email", "*", "sms"], rng.randint(0, 2)):
            consents.append({"tenant_id": tenant, "cdp_id": c, "channel": channel, "purpose": "marketing",
                             "granted": rng.random() < 0.5, "updated_at": NOW - timedelta(days=rng.randint(1, 30)), "source": "api"})
    events.append({"tenant_id": tenant, "message_id": "orphan", "type": "track", "event": "Order Completed", "cdp_id": None,
                   "properties": "{}", "event_time": NOW - timedelta(days=1), "received_at": NOW})
    members = [{"tenant_id": tenant, "segment_id": 7, "cdp_id": f"c{n:02d}", "entered_at": NOW} for n in range(0, 24, 3)]
    return {"identities": identities, "traits": traits, "events": events, "consents": consents, "segment_members": members,
            "profile_changes": changes}


def random_step(rng: random.Random) -> dict:
    step = {"event": rng.choice(EVENTS)}
    if rng.random() < 0.2:
        step["event_type"] = rng.choice(["track", "page"])
    if rng.random() < 0.3:
        step["where"] = [random_filter(rng)]
    return step


def random_filter(rng: random.Random) -> dict:
    prop, op, value = rng.choice([("revenue", "gt", rng.choice([10, 25])), ("revenue", "equals", 10), ("revenue", "exists", None),
                                  ("sku", "equals", "s1"), ("sku", "in", ["s2", "S10"]), ("sku", "contains", "S"), ("coupon", "missing", None),
                                  ("revenue", "not_equals", 0), ("sku", "equals", 7), ("revenue", "between", [10, 30])])
    return {"property": prop, "op": op, **({"value": value} if value is not None else {})}


def random_condition(rng: random.Random) -> dict:
    kind = rng.choice(["trait", "trait", "event", "event", "identifier", "consent", "segment", "sequence", "regular", "lapsed",
                       "trait_held", "bucket", "event_times"])
    if kind == "sequence":
        condition = {"type": "sequence", "first": random_step(rng), "then": random_step(rng), "within_hours": rng.choice([24, 72, 240])}
        if rng.random() < 0.5:
            condition["then_missing"] = True
        if rng.random() < 0.4:
            condition["within_days"] = rng.choice([7, 30])
        return condition
    if kind == "regular":
        unit = rng.choice(["day", "week"])
        of_last = rng.choice([7, 14, 30, 45]) if unit == "day" else rng.choice([2, 4, 6])
        return {"type": "regular", **random_step(rng), "at_least": rng.randint(1, min(of_last, 3)), "of_last": of_last, "unit": unit}
    if kind == "lapsed":
        return {"type": "lapsed", **random_step(rng), "days": rng.choice([3, 10, 30])}
    if kind == "trait_held":
        return {"type": "trait_held", "key": "plan", "value": rng.choice(PLANS), "days": rng.choice([5, 20, 60])}
    if kind == "bucket":
        low = rng.choice([0, 0, 25, 50])
        return {"type": "bucket", "salt": rng.choice(["holdout", "sample"]), "from_percent": low, "to_percent": low + rng.choice([10, 50])}
    if kind == "event_times":
        condition = {"type": "event", **random_step(rng)}
        if rng.random() < 0.5:
            condition["between"] = [(NOW - timedelta(days=20)).isoformat(), (NOW - timedelta(days=2)).isoformat()]
        choice = rng.choice(["first", "last", "last_where"])
        if choice == "last_where":
            condition["last_where"] = [random_filter(rng)]
        else:
            condition[choice] = rng.choice([{"op": "within_last_days", "value": rng.choice([5, 15])}, {"op": "more_than_days_ago", "value": 10},
                                            {"op": "before", "value": (NOW - timedelta(days=12)).isoformat()},
                                            {"op": "after", "value": (NOW - timedelta(days=30)).isoformat()}])
        return condition
    if kind == "trait":
        key, op = rng.choice([("plan", "equals"), ("plan", "not_equals"), ("plan", "in"), ("plan", "contains"), ("plan", "starts_with"),
                              ("plan", "exists"), ("plan", "missing"), ("score", "gt"), ("score", "lte"), ("score", "between"),
                              ("score", "equals"), ("flag", "equals"), ("renews_at", "within_last_days"),
                              ("renews_at", "more_than_days_ago"), ("renews_at", "in_next_days"), ("renews_at", "gte"), ("nothing", "missing"),
                              ("birthday", "anniversary_in_next_days"), ("tags", "includes")])
        value = {"equals": rng.choice(PLANS) if key == "plan" else (True if key == "flag" else rng.choice([5, 42, 3.5])),
                 "not_equals": rng.choice(PLANS), "in": rng.sample(PLANS, 2), "contains": rng.choice(["pro", "PLUS", "r"]),
                 "starts_with": rng.choice(["p", "Fr", "t"]), "gt": rng.choice([0, 10, 42]), "lte": rng.choice([5, 42]),
                 "between": [5, 42], "within_last_days": rng.choice([7, 30]), "more_than_days_ago": rng.choice([10, 30]),
                 "in_next_days": rng.choice([5, 15]), "gte": (NOW - timedelta(days=10)).isoformat(),
                 "anniversary_in_next_days": rng.choice([0, 1, 20]), "includes": rng.choice(["vip", "beta", 7, "true"])}.get(op)
        return {"type": "trait", "key": key, "op": op, **({"value": value} if value is not None else {})}
    if kind == "event":
        condition = {"type": "event", "event": rng.choice(EVENTS)}
        if rng.random() < 0.3:
            condition["event_type"] = rng.choice(["track", "page"])
        if rng.random() < 0.6:
            condition["within_days"] = rng.choice([3, 14, 30])
        if rng.random() < 0.5:
            condition["where"] = [random_filter(rng)]
        if rng.random() < 0.6:
            condition["count"] = {"op": rng.choice(["gte", "gt", "eq", "lte", "lt"]), "value": rng.choice([0, 1, 2, 3])}
        return condition
    if kind == "identifier":
        return {"type": "identifier", "id_type": rng.choice(["user_id", "email", "phone"])}
    if kind == "consent":
        return {"type": "consent", "channel": "email", "purpose": "marketing", "granted": rng.random() < 0.5}
    return {"type": "segment", "segment_id": 7}


def random_tree(rng: random.Random, depth: int = 0) -> dict:
    roll = rng.random()
    if depth >= 2 or roll < 0.45:
        return random_condition(rng)
    if roll < 0.6:
        return {"not": random_tree(rng, depth + 1)}
    return {rng.choice(["all", "any"]): [random_tree(rng, depth + 1) for _ in range(rng.randint(1, 3))]}


@pytest.fixture
def loaded(all_engines, tenant_id):
    from lakehouse.schema import TABLES

    data = dataset(random.Random(20260615), tenant_id)
    for engine in all_engines.values():
        for name, rows in data.items():
            engine.insert_many(TABLES[name], rows)
    members = {7: {r["cdp_id"] for r in data["segment_members"]}}
    reference = Reference(identities=data["identities"], traits=data["traits"], events=data["events"], consents=data["consents"],
                          members=members, now=NOW, changes=data["profile_changes"], tenant_id=tenant_id)
    return all_engines, tenant_id, reference


def test_random_definitions_agree_with_the_reference_on_every_engine(loaded):
    engines, tenant_id, reference = loaded
    rng = random.Random(7)
    trees = [random_tree(rng) for _ in range(60)]
    # A statement per tree, so a difference names its tree.
    _agree(engines, tenant_id, reference, trees, NOW)
    assert any(reference.audience(t) for t in trees) and any(len(reference.audience(t)) < 24 for t in trees), "the trees discriminate"


def test_counts_and_limits_agree(loaded):
    engines, tenant_id, reference = loaded
    tree = {"any": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"},
                    {"type": "event", "event": "Order Completed", "count": {"op": "gte", "value": 2}}]}
    expected = sorted(reference.audience(tree))
    for name, engine in engines.items():
        count = compile_count(tree, tenant_id=tenant_id, now=NOW)
        assert engine.execute(count.statement(), count.params).first()["members"] == len(expected), name
        sample = compile_audience(tree, tenant_id=tenant_id, now=NOW, limit=3)
        assert [r["cdp_id"] for r in engine.execute(sample.statement(), sample.params)] == expected[:3], name


def _agree(engines, tenant_id, reference, trees, now):
    for tree in trees:
        assert definition_errors(tree) == [], tree
        expected = sorted(reference.audience(tree))
        compiled = compile_audience(tree, tenant_id=tenant_id, now=now)
        for name, engine in engines.items():
            got = [r["cdp_id"] for r in engine.execute(compiled.statement(), compiled.params)]
            assert got == expected, f"{name} differs from the reference at {now} for {json.dumps(tree)}"


def test_time_relative_conditions_follow_the_clock(loaded):
    """The same data a little later: windows slide, so audiences change, the same on every engine."""
    engines, tenant_id, reference = loaded
    later = NOW + timedelta(days=3, hours=5)
    reference.now = later
    rng = random.Random(11)
    relative = [c for c in (random_condition(rng) for _ in range(200))
                if c["type"] in ("sequence", "regular", "lapsed", "trait_held") or c.get("within_days") or c.get("first") or c.get("last")
                or c.get("op") in ("within_last_days", "more_than_days_ago", "in_next_days", "anniversary_in_next_days")][:16]
    _agree(engines, tenant_id, reference, relative, later)
    reference.now = NOW
    assert any(reference.audience(t) != Reference.audience(_at(reference, later), t) for t in relative), "the clock matters"


def _at(reference, now):
    from copy import copy

    moved = copy(reference)
    moved.now = now
    return moved


def test_29_february_anniversaries_fall_on_28_february_in_other_years(loaded):
    engines, tenant_id, reference = loaded
    tree = {"type": "trait", "key": "birthday", "op": "anniversary_in_next_days", "value": 0}
    for now, leap_born_in in ((datetime(2027, 2, 28, 9, tzinfo=UTC), True), (datetime(2028, 2, 28, 9, tzinfo=UTC), False),
                              (datetime(2028, 2, 29, 9, tzinfo=UTC), True)):
        moved = _at(reference, now)
        leap_born = {r["cdp_id"] for (c, key), r in reference.traits.items() if key == "birthday" and r["value"] == "1992-02-29"}
        assert leap_born and (leap_born <= moved.audience(tree)) == leap_born_in
        _agree(engines, tenant_id, moved, [tree], now)


def test_compiled_definitions_parse_as_databricks_sql():
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.qualify import qualify

    from tests.lakehouse.databricks_sql import databricks_engine
    from tests.lakehouse.test_databricks_sql import SCHEMA

    engine = databricks_engine()
    rng = random.Random(3)
    for tree in [random_tree(rng) for _ in range(60)]:
        compiled = compile_audience(tree, tenant_id="acme", now=NOW)
        sql, _ = engine.expand_lists(engine.render(compiled.statement()), compiled.params)
        expression = sqlglot.parse_one(sql, read="databricks")
        for table in expression.find_all(exp.Table):
            if table.name and table.db:
                assert table.name in SCHEMA[table.catalog][table.db], table.name
        qualify(expression.copy(), schema=SCHEMA, dialect="databricks", catalog="main", db="cdp")


def test_explanations_agree_with_the_reference_on_every_engine(loaded):
    """For one customer: which conditions hold (one statement) and the values they were decided on
    (one statement), the same on every engine and as the reference counts them."""
    from segments.compiler import compile_facts, compile_leaves, leaves

    engines, tenant_id, reference = loaded
    rng = random.Random(5)
    trees = [{"all": [random_condition(rng) for _ in range(4)]} for _ in range(4)]
    for tree in trees:
        for c in ("c01", "c06"):
            expected = [i for i, (_, leaf) in enumerate(leaves(tree)) if reference.holds(leaf, c)]
            tests = compile_leaves(tree, tenant_id=tenant_id, cdp_id=c, now=NOW)
            facts = compile_facts(tree, tenant_id=tenant_id, cdp_id=c, now=NOW)
            for name, engine in engines.items():
                assert sorted(r["leaf"] for r in engine.execute(tests.statement(), tests.params)) == expected, (name, c, tree)
                rows = engine.execute(facts.statement(), facts.params).dicts() if facts else []
                for i, (_, leaf) in enumerate(leaves(tree)):
                    if leaf["type"] == "event":
                        calls = reference._calls(leaf, c, window=reference._window(leaf))
                        fact = next(r for r in rows if r["leaf"] == i and r["fact"] == "calls")
                        assert fact["calls"] == len(calls), (name, c, leaf)
                        assert fact["last_at"] == (max(r["event_time"] for r in calls) if calls else None), (name, c, leaf)
                    if leaf["type"] == "trait" and (c, leaf["key"]) in reference.traits:
                        assert any(r["leaf"] == i and r["fact"] == "trait" for r in rows), (name, leaf)


def test_refresh_differences_are_computed_alike_on_every_engine(loaded):
    """A refresh's entries and exits come from one statement (full, or over an incremental
    refresh's candidates): the same on every engine, the full one as the reference says."""
    from segments.compiler import Changes, compile_refresh

    engines, tenant_id, reference = loaded
    stored = reference.members[7]
    rng = random.Random(21)
    for tree in [random_tree(rng) for _ in range(8)]:
        audience = reference.audience(tree)
        expected = sorted([(c, "entered") for c in audience - stored] + [(c, "exited") for c in stored - audience])
        full = compile_refresh(tree, tenant_id=tenant_id, segment_id=7, now=NOW)
        partial = compile_refresh(tree, tenant_id=tenant_id, segment_id=7, now=NOW,
                                  changes=Changes(since=NOW - timedelta(days=2), t0=NOW - timedelta(days=1, hours=3)))
        answers = []
        for name, engine in engines.items():
            assert sorted((r["cdp_id"], r["change"]) for r in engine.execute(full.statement(), full.params)) == expected, (name, tree)
            answers.append(sorted((r["cdp_id"], r["change"]) for r in engine.execute(partial.statement(), partial.params)))
        assert all(a == answers[0] for a in answers) and set(answers[0]) <= set(expected), tree


def test_a_refresh_writes_its_log_and_entries_in_sql_on_every_engine(loaded):
    from lakehouse.statements import Statement
    from segments import sql
    from segments.compiler import compile_refresh_log

    engines, tenant_id, reference = loaded
    tree = {"any": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"}, {"type": "identifier", "id_type": "email"}]}
    audience, stored = reference.audience(tree), reference.members[7]
    expected = sorted([(c, "entered") for c in audience - stored] + [(c, "exited") for c in stored - audience])
    assert expected
    for name, engine in engines.items():
        log = compile_refresh_log(tree, tenant_id=tenant_id, segment_id=7, run_id=99, now=NOW)
        engine.execute(Statement("test.refresh_log", log.sql, writes=True), log.params)
        keys = {"tenant_id": tenant_id, "segment_id": 7, "changed_at": NOW, "run_id": 99}
        engine.execute(sql.ENTER_FROM_LOG, keys)
        logged = sorted((r["cdp_id"], r["change"]) for r in engine.execute(sql.RUN_CHANGES, keys))
        assert logged == expected, name
        members = {r["cdp_id"] for r in engine.execute(sql.CURRENT_MEMBERS, {"tenant_id": tenant_id, "segment_id": 7})}
        assert members == stored | audience, name
