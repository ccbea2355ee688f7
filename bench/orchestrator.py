"""The Journey Orchestrator (journeys/): one tick over 200,000 instances in 3 journeys — a send then
a wait (100k), a branch on a trait then a send or an exit (60k), keyed waits for an event whose
timeout has come for half of them then a send and an exit (40k) — against the same tick written
by hand as set-based SQL through raw sqlite3 on a copy of the same database, in the same run.
Gate: the same instances at the same nodes with the same status, step and due time, the same
history rows, and the same outbox keys, each once. Target: product / hand-written <= 2.
`--small` runs a tenth (a quick check, not the figure). `--large` runs five times as many (a million
instances) and times the same tick again with the lakehouse on a local Spark session (2 cores,
Parquet) in a second process: the instances stay in the operational database, the branch reads
the traits from Spark; that run is gated on the counts (the hand-written tick reads its traits
from SQLite, so it has no Spark twin)."""
from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import uuid
from datetime import UTC, datetime, timedelta

from _setup import django_setup, report, timed

SCALE = 0.1 if "--small" in sys.argv else 5 if "--large" in sys.argv else 1
WELCOME, BRANCHED, CARTS = int(100_000 * SCALE), int(60_000 * SCALE), int(40_000 * SCALE)
ON_SPARK = "--on-spark" in sys.argv  # (the second process of --large)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def ts(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def journeys(channel: int, template: int) -> dict[str, dict]:
    def send(node_id, nxt):
        return {"id": node_id, "type": "send", "channel_id": channel, "template_id": template, "topic": "news", "next": nxt}

    manual = {"type": "manual"}
    return {
        "welcome": {"entry": manual, "start": "hello", "holdout_percent": 0,
                    "nodes": [send("hello", "wait"), {"id": "wait", "type": "wait", "duration": {"days": 1}, "next": "done"},
                              {"id": "done", "type": "exit"}]},
        "branched": {"entry": manual, "start": "b", "holdout_percent": 0,
                     "nodes": [{"id": "b", "type": "branch", "else": "out",
                                "ways": [{"condition": {"type": "trait", "key": "plan", "op": "equals", "value": "pro"}, "next": "pro"}]},
                               send("pro", "w2"), {"id": "w2", "type": "wait", "duration": {"days": 2}, "next": "out"},
                               {"id": "out", "type": "exit"}]},
        "cart": {"entry": {"type": "event", "event": "Checkout Started", "key": "cartId"}, "start": "wait", "holdout_percent": 0,
                 "nodes": [{"id": "wait", "type": "wait_event", "timeout": {"hours": 4}, "timeout_next": "remind",
                            "events": [{"event": "Order Completed", "match_key": True, "next": "done"}]},
                           send("remind", "done"), {"id": "done", "type": "exit"}]},
    }


def setup():
    from django.core.management import call_command

    from journeys.models import Instance
    from journeys.services.journeys import journey_create, journey_publish
    from kernel.bulk import rows_insert
    from lakehouse import get_engine
    from lakehouse.schema import TABLES
    from messaging.services import channels, templates, topics
    from tenancy import services as tenancy

    call_command("lakehouse", "migrate", stdout=open(os.devnull, "w"))
    tenant = tenancy.tenant_create(slug="bench", actor="bench")
    engine = get_engine()
    tables = {t.name: t for t in TABLES}
    total = WELCOME + BRANCHED + CARTS
    customers = [f"c{n:06d}" for n in range(total)]
    engine.insert_many(tables["identities"], [{"tenant_id": "bench", "id_type": "user_id", "id_value": f"u{c}", "cdp_id": c,
                                              "first_seen_at": NOW, "last_seen_at": NOW} for c in customers])
    engine.insert_many(tables["traits"], [{"tenant_id": "bench", "cdp_id": c, "key": "plan", "value": "pro" if n % 3 == 0 else "free",
                                          "updated_at": NOW, "source": "identify", "value_type": "string"} for n, c in enumerate(customers)])
    channel = channels.channel_create(tenant=tenant, name="rows", kind="table", config={}, actor="bench")
    template = templates.template_create(tenant=tenant, name="t", channel_kind="table", actor="bench", parts={"payload": '{"k": 1}'})
    topics.topic_create(tenant=tenant, key="news", name="News", channel_kind="table", policy="opt_out", actor="bench")
    ids = {}
    for name, definition in journeys(channel.id, template.id).items():
        info = journey_create(tenant=tenant, name=name, definition=definition, actor="bench")
        journey_publish(tenant=tenant, journey_id=info.id, actor="bench")
        ids[name] = info.id
    entered = NOW - timedelta(hours=5)
    columns = ("tenant", "journey", "version", "instance_id", "cdp_id", "key", "entry_ref", "node", "status", "step", "entered_at",
               "arrived_at", "due_at", "wait_set", "retries", "context", "bucket", "holdout", "end_reason")
    rows, start = [], 0
    for name, count, node in (("welcome", WELCOME, "hello"), ("branched", BRANCHED, "b"), ("cart", CARTS, "wait")):
        for n in range(count):
            due = entered if name != "cart" else (NOW - timedelta(minutes=n % 60) if n % 2 == 0 else NOW + timedelta(hours=1))
            rows.append((tenant.id, ids[name], 1, f"ji_{uuid.UUID(int=start + n).hex}", customers[start + n],
                         f"cart-{n}" if name == "cart" else "", f"bench:{start + n}", node, "active", 1, entered, entered, due, False, 0,
                         {}, (start + n) % 10_000, False, ""))
        start += count
    rows_insert(Instance, columns, rows)
    return tenant, ids, channel.id, template.id


def reference(database: str, tenant_id: int, ids: dict, channel: int, template_version: int) -> None:
    """The same tick by hand: each transition an INSERT of the sends, an INSERT of the steps and an
    UPDATE of the instances, set-based, in one transaction."""
    db = sqlite3.connect(database)
    now, created = ts(NOW), ts(NOW)
    db.create_function("new_id", 0, lambda: f"msg_{uuid.uuid4().hex}")

    def due(journey: str, node: str) -> str:
        return f"journey_id = {ids[journey]} AND node = '{node}' AND status = 'active' AND due_at <= '{now}'"

    def send(journey: str, node: str, nxt: str, next_due: str) -> None:
        where = due(journey, node)
        key = f"'journey:{ids[journey]}.1:' || instance_id || ':{node}:' || step"
        db.execute(f"""INSERT INTO messaging_delivery (tenant_id, idempotency_key, delivery_id, channel_id, template_version_id, cdp_id,
                       address, category, topic, source, variables, status, reason, attempts, next_attempt_at, claim, response, provider_id,
                       created_at, updated_at)
                       SELECT {tenant_id}, {key}, new_id(), {channel}, {template_version}, cdp_id, '', 'marketing', 'news',
                              'journey:{ids[journey]}', json_object('key', key), 'queued', '', 0, '{now}', '', '{{}}', '', '{created}', '{created}'
                       FROM journeys_instance WHERE {where}""")
        step(journey, node, "next", nxt, where, detail=f"json_object('key', {key})")
        db.execute(f"UPDATE journeys_instance SET node = '{nxt}', step = step + 1, arrived_at = '{now}', due_at = {next_due}, "
                   f"wait_set = 0, retries = 0 WHERE {where}")

    def step(journey, node, way, to_node, where, detail="'{}'"):
        db.execute(f"""INSERT INTO journeys_instancestep (instance_id, step, node, way, to_node, at, detail, tick)
                       SELECT id, step, '{node}', '{way}', '{to_node}', '{now}', {detail}, NULL FROM journeys_instance WHERE {where}""")

    def end(journey, node):
        where = due(journey, node)
        step(journey, node, "exit", "", where, detail="json_object('reason', 'reached an exit')")
        db.execute(f"UPDATE journeys_instance SET status = 'completed', ended_at = '{now}', end_reason = 'reached an exit', "
                   f"due_at = NULL, step = step + 1, wait_set = 0, retries = 0 WHERE {where}")

    with db:
        send("welcome", "hello", "wait", f"'{ts(NOW + timedelta(days=1))}'")
        pro = "cdp_id IN (SELECT cdp_id FROM traits WHERE tenant_id = 'bench' AND key = 'plan' AND value = 'pro')"
        where = due("branched", "b")
        db.execute(f"""INSERT INTO journeys_instancestep (instance_id, step, node, way, to_node, at, detail, tick)
                       SELECT id, step, 'b', CASE WHEN {pro} THEN 'way:0' ELSE 'else' END, CASE WHEN {pro} THEN 'pro' ELSE 'out' END,
                              '{now}', '{{}}', NULL FROM journeys_instance WHERE {where}""")
        db.execute(f"UPDATE journeys_instance SET node = CASE WHEN {pro} THEN 'pro' ELSE 'out' END, step = step + 1, arrived_at = '{now}', "
                   f"due_at = '{now}', wait_set = 0, retries = 0 WHERE {where}")
        send("branched", "pro", "w2", f"'{ts(NOW + timedelta(days=2))}'")
        end("branched", "out")
        where = due("cart", "wait")
        step("cart", "wait", "timeout", "remind", where)
        db.execute(f"UPDATE journeys_instance SET node = 'remind', step = step + 1, arrived_at = '{now}', due_at = '{now}', "
                   f"wait_set = 0, retries = 0 WHERE {where}")
        send("cart", "remind", "done", f"'{now}'")
        end("cart", "done")
    db.close()


def state(database: str) -> tuple:
    db = sqlite3.connect(database)
    try:
        instances = db.execute("SELECT instance_id, node, status, step, datetime(due_at) FROM journeys_instance ORDER BY instance_id").fetchall()
        steps = db.execute("SELECT i.instance_id, s.step, s.node, s.way, s.to_node FROM journeys_instancestep s "
                           "JOIN journeys_instance i ON i.id = s.instance_id ORDER BY i.instance_id, s.step").fetchall()
        keys = db.execute("SELECT idempotency_key, cdp_id FROM messaging_delivery ORDER BY idempotency_key").fetchall()
    finally:
        db.close()
    return instances, steps, keys


def spark_tick() -> int:
    """The tick alone, with the lakehouse on local Spark (this process's CDP_LAKEHOUSE)."""
    django_setup()
    from journeys.services.orchestrator import orchestrator_tick
    from messaging.models import Delivery

    setup()
    summary = None

    def product():
        nonlocal summary
        summary = orchestrator_tick(now=NOW, trigger="bench")

    took = timed(product)
    pro = sum(1 for n in range(WELCOME, WELCOME + BRANCHED) if n % 3 == 0)  # (setup's plan trait)
    due_carts = (CARTS + 1) // 2  # (setup's timeouts: every other cart's has come)
    # Each welcome and branched instance moves once, the pro ones again to their wait; a due cart
    # moves to the reminder and on to the exit. Sends: every welcome, every pro, every due cart.
    expected = {"moved": WELCOME + BRANCHED + pro + 2 * due_carts, "queued": WELCOME + pro + due_carts}
    got = {"moved": summary.counts.get("moved"), "queued": Delivery.objects.count()}
    if got != expected:
        print(f"correctness gate failed on Spark: {got} where {expected}")
        return 1
    print(f"spark_tick_seconds: {took:.3f}")
    return 0


def on_spark() -> tuple[int, str]:
    """`--large`'s Spark run in its own process (a lakehouse setting is read at start-up)."""
    import subprocess
    import tempfile

    warehouse = tempfile.mkdtemp(prefix="cdp-bench-spark-")
    env = {**os.environ, "CDP_LAKEHOUSE": f"spark://local[2]?warehouse_dir={warehouse}"}
    try:
        done = subprocess.run([sys.executable, __file__, "--large", "--on-spark"], env=env, capture_output=True, text=True, timeout=3600)
    finally:
        shutil.rmtree(warehouse, ignore_errors=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(("spark_tick_seconds:", "correctness gate"))]
    return done.returncode, "\n".join(lines) or done.stderr[-2000:]


def main() -> int:
    data_dir = django_setup()
    from django.db import connection, connections

    from journeys.services.orchestrator import orchestrator_tick
    from messaging.models import TemplateVersion

    tenant, ids, channel, template = setup()
    version = TemplateVersion.objects.get(template_id=template).id
    database = connection.settings_dict["NAME"]
    connections.close_all()
    copy = str(data_dir / "reference.sqlite3")
    shutil.copy(database, copy)
    summary = None

    def product():
        nonlocal summary
        summary = orchestrator_tick(now=NOW, trigger="bench")

    took = timed(product)
    connections.close_all()
    raw = timed(lambda: reference(copy, tenant.id, ids, channel, version))
    mine, theirs = state(database), state(copy)
    failed = []
    for name, a, b in zip(("instances", "steps", "outbox keys"), mine, theirs, strict=True):
        if a != b:
            differing = next((pair for pair in zip(a, b, strict=False) if pair[0] != pair[1]), (len(a), len(b)))
            failed.append(f"{name} differ: {differing}")
    if len({k for k, _ in mine[2]}) != len(mine[2]):
        failed.append("an outbox key twice")
    if failed:
        print("correctness gate failed:\n  " + "\n  ".join(failed))
        return 1
    total = WELCOME + BRANCHED + CARTS
    figures = {"instances": str(total), "moved": str(summary.counts.get("moved")), "sends_queued": str(len(mine[2])),
               "product_seconds": took, "reference_seconds": raw, "product_us_per_instance": took * 1e6 / total}
    if "--large" in sys.argv:
        code, said = on_spark()
        print(said)
        if code:
            return code
    report(figures, took / raw)
    return 0


if __name__ == "__main__":
    sys.exit(spark_tick() if ON_SPARK else main())
