"""Campaigns (campaigns/): one send to 200,000 customers of a segment — the audience snapshot (every
member's address, deduplicated by address, the global control group, the holdout, variants by
weight) and the outbox rows of everyone reached — against the same work written by hand as
set-based SQL through raw sqlite3 on a copy of the same database, in the same run. Gate: the same
recipients with the same group and status, and the same outbox keys and addresses, each once.
Target: product / hand-written <= 2. Consent, caps and quiet hours are decided by the drain as each
message goes (bench/delivery.py measures that), not here. `--small` runs a tenth."""
from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import uuid
from datetime import UTC, datetime

from _setup import django_setup, report, timed

SCALE = 10 if "--small" in sys.argv else 1
CUSTOMERS = 200_000 // SCALE
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
HOLDOUT, CONTROL = 5, 3  # percent


def setup():
    from django.core.management import call_command

    from campaigns.services.campaigns import campaign_approve, campaign_create, campaign_schedule, policy_set
    from lakehouse import get_engine
    from lakehouse.schema import TABLES
    from messaging.services import channels, policies, templates, topics
    from segments.services import segment_create
    from tenancy import services as tenancy

    call_command("lakehouse", "migrate", stdout=open(os.devnull, "w"))
    tenant = tenancy.tenant_create(slug="bench", actor="bench")
    engine = get_engine()
    tables = {t.name: t for t in TABLES}
    customers = [f"c{n:06d}" for n in range(CUSTOMERS)]
    # Every 100th customer has no address; every 50th shares the previous one's (a household: an
    # email trait, in other letters, as identifiers are one customer's each).
    emails = {c: f"u{n}@example.com" for n, c in enumerate(customers) if n % 100 != 99 and n % 50 != 1}
    shared = {c: f"U{n - 1}@Example.com" for n, c in enumerate(customers) if n % 50 == 1}
    engine.insert_many(tables["identities"], [{"tenant_id": "bench", "id_type": "email", "id_value": e, "cdp_id": c, "first_seen_at": NOW,
                                              "last_seen_at": NOW} for c, e in emails.items()])
    engine.insert_many(tables["traits"], [{"tenant_id": "bench", "cdp_id": c, "key": "email", "value": e, "updated_at": NOW,
                                          "source": "identify", "value_type": "string"} for c, e in shared.items()])
    engine.insert_many(tables["identities"], [{"tenant_id": "bench", "id_type": "user_id", "id_value": f"u{c}", "cdp_id": c,
                                              "first_seen_at": NOW, "last_seen_at": NOW} for c in customers])
    segment = segment_create(tenant=tenant, name="everyone with a user id", definition={"type": "identifier", "id_type": "user_id"},
                             actor="bench")
    engine.insert_many(tables["segment_members"], [{"tenant_id": "bench", "segment_id": segment.id, "cdp_id": c, "entered_at": NOW}
                                                   for c in customers])
    channel = channels.channel_create(tenant=tenant, name="rows", kind="email", config={"backend": "file", "from_email": "a@b.example"},
                                      actor="bench")
    a = templates.template_create(tenant=tenant, name="a", channel_kind="email", actor="bench", parts={"subject": "A", "html": "<p>A</p>"})
    b = templates.template_create(tenant=tenant, name="b", channel_kind="email", actor="bench", parts={"subject": "B", "html": "<p>B</p>"})
    topics.topic_create(tenant=tenant, key="news", name="News", channel_kind="email", policy="opt_out", actor="bench")
    policies.policy_set(tenant=tenant, actor="bench", caps=[], quiet_days=[], quiet_start=None, quiet_end=None, control_percent=CONTROL)
    policy_set(tenant=tenant, actor="bench", approval_threshold=10 * CUSTOMERS)
    made = campaign_create(tenant=tenant, name="bench", actor="bench", definition={
        "audience": {"segments": [segment.id]}, "channel_id": channel.id, "topic": "news", "holdout_percent": HOLDOUT,
        "variants": [{"key": "A", "template_id": a.id, "weight": 3}, {"key": "B", "template_id": b.id, "weight": 1}]})
    campaign_schedule(tenant=tenant, campaign_id=made.id, actor="bench", now=NOW)
    campaign_approve(tenant=tenant, campaign_id=made.id, actor="second admin", now=NOW)  # it goes to every customer
    return tenant, made.id, segment.id, channel.id, {"A": a.id, "B": b.id}


def reference(database: str, tenant_id: int, campaign_id: int, segment_id: int, channel: int, versions: dict[str, int]) -> None:
    """The same send by hand: the snapshot in one INSERT ... SELECT (addresses, dedupe by window,
    buckets for control, holdout and variant), then the outbox rows in one INSERT ... SELECT and
    the recipients marked in one UPDATE, in one transaction."""
    from lakehouse.functions import register_sqlite

    db = sqlite3.connect(database)
    register_sqlite(db)
    db.create_function("new_id", 0, lambda: f"msg_{uuid.uuid4().hex}")
    now = NOW.strftime("%Y-%m-%d %H:%M:%S")

    def share(purpose: str) -> str:  # campaigns.audience.share, as a bucket 0..9999
        return f"cdp_bucket('bench:campaign:{campaign_id}:{purpose}:' || m.cdp_id)"

    with db:
        db.execute("UPDATE campaigns_campaign SET status = 'running', next_run_at = NULL WHERE id = ?", (campaign_id,))
        db.execute("INSERT INTO campaigns_run (campaign_id, number, phase, scheduled_for, started_at, winner, decision, definition) "
                   "SELECT id, 1, 'sending', ?, ?, '', '{}', definition FROM campaigns_campaign WHERE id = ?", (now, now, campaign_id))
        run = db.execute("SELECT id FROM campaigns_run WHERE campaign_id = ?", (campaign_id,)).fetchone()[0]
        db.execute(f"""
            INSERT INTO campaigns_recipient (run_id, tenant_id, cdp_id, address, "group", seed, test, send_at, zone, status, queued_at)
            SELECT {run}, {tenant_id}, cdp_id, address, grp, 0, 0, '{now}', '', CASE WHEN grp IN ('A', 'B') THEN 'pending' ELSE 'none' END, NULL
            FROM (
              SELECT m.cdp_id, COALESCE(a.address, '') AS address,
                     CASE WHEN a.address IS NULL THEN 'no_address'
                          WHEN ROW_NUMBER() OVER (PARTITION BY a.address ORDER BY m.cdp_id) > 1 THEN 'duplicate'
                          WHEN cdp_bucket('bench:control:' || m.cdp_id) < {CONTROL * 100} THEN 'control'
                          WHEN {share('holdout')} < {HOLDOUT * 100} THEN 'holdout'
                          WHEN {share('variant')} < 7500 THEN 'A' ELSE 'B' END AS grp
              FROM segment_members m
              LEFT JOIN (SELECT m2.cdp_id, COALESCE((SELECT MIN(lower(trim(id_value))) FROM identities i WHERE i.tenant_id = 'bench'
                                                      AND i.id_type = 'email' AND i.cdp_id = m2.cdp_id),
                                                     (SELECT lower(trim(value)) FROM traits t WHERE t.tenant_id = 'bench'
                                                      AND t.key = 'email' AND t.cdp_id = m2.cdp_id)) AS address
                         FROM segment_members m2 WHERE m2.tenant_id = 'bench' AND m2.segment_id = {segment_id}) a ON a.cdp_id = m.cdp_id
              WHERE m.tenant_id = 'bench' AND m.segment_id = {segment_id})
            ORDER BY cdp_id""")
        db.execute(f"""
            INSERT INTO messaging_delivery (tenant_id, idempotency_key, delivery_id, channel_id, template_version_id, cdp_id, address,
                   category, topic, source, variables, status, reason, attempts, next_attempt_at, expires_at, claim, response,
                   provider_id, created_at, updated_at)
            SELECT {tenant_id}, 'campaign:{campaign_id}:run:1:r' || id, new_id(), {channel},
                   CASE "group" WHEN 'A' THEN {versions['A']} ELSE {versions['B']} END, cdp_id, address, 'marketing', 'news',
                   'campaign:{campaign_id}', json_object('campaign', json_object('id', {campaign_id}, 'name', 'bench', 'run', 1),
                   'variant', "group", 'seed', json('false')), 'queued', '', 0, '{now}', NULL, '', '{{}}', '', '{now}', '{now}'
            FROM campaigns_recipient WHERE run_id = {run} AND status = 'pending'""")
        db.execute(f"UPDATE campaigns_recipient SET status = 'queued', queued_at = '{now}' WHERE run_id = {run} AND status = 'pending'")
        db.execute("UPDATE campaigns_campaign SET status = 'completed' WHERE id = ?", (campaign_id,))
    db.close()


def state(database: str) -> tuple:
    db = sqlite3.connect(database)
    try:
        recipients = db.execute('SELECT cdp_id, address, "group", status FROM campaigns_recipient ORDER BY cdp_id').fetchall()
        keys = db.execute("SELECT idempotency_key, cdp_id, address FROM messaging_delivery ORDER BY idempotency_key").fetchall()
    finally:
        db.close()
    return recipients, keys


def main() -> int:
    data_dir = django_setup()
    from django.db import connection, connections

    from campaigns.services.sending import campaigns_tick
    from messaging.models import TemplateVersion

    tenant, campaign_id, segment_id, channel, templates = setup()
    versions = {k: TemplateVersion.objects.get(template_id=t).id for k, t in templates.items()}
    database = connection.settings_dict["NAME"]
    connections.close_all()
    copy = str(data_dir / "reference.sqlite3")
    shutil.copy(database, copy)
    counts = {}

    def product():
        counts.update(campaigns_tick(now=NOW, clock=lambda: 0.0))  # one tick to the end (no 40-second cut)

    took = timed(product)
    connections.close_all()
    raw = timed(lambda: reference(copy, tenant.id, campaign_id, segment_id, channel, versions))
    mine, theirs = state(database), state(copy)
    failed = []
    for name, a, b in zip(("recipients", "outbox rows"), mine, theirs, strict=True):
        if a != b:
            differing = next((pair for pair in zip(a, b, strict=False) if pair[0] != pair[1]), (len(a), len(b)))
            failed.append(f"{name} differ: {differing}")
    if len({k for k, _, _ in mine[1]}) != len(mine[1]) or len({a for _, _, a in mine[1]}) != len(mine[1]):
        failed.append("an outbox key or address twice")
    if failed:
        print("correctness gate failed:\n  " + "\n  ".join(failed))
        return 1
    report({"audience": str(CUSTOMERS), "queued": str(counts["queued"]), "product_seconds": took, "reference_seconds": raw,
            "product_us_per_recipient": took * 1e6 / CUSTOMERS}, took / raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
