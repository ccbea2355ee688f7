"""A campaign's send in a process of its own killed with SIGKILL at random points (24 trials over
three clocks: the snapshot and the first throttled minute, the second minute, the winner's pick
and the rest) and run again: each trial's end state (the runs, every recipient's group and
status, the outbox's keys) equals the uninterrupted run's, so each recipient gets one delivery
and no one is lost or snapshotted twice (tests/kill_drill.py does the killing)."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.journeys.test_tick_crash import ROOT, _env

pytestmark = pytest.mark.own_database  # processes on a database of their own: once, not again on PostgreSQL

CUSTOMERS, TRIALS = 40, 24
START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

SETUP = """
from datetime import datetime, UTC
from campaigns.services.campaigns import campaign_create, campaign_schedule
from customers.services import customer_identify
from messaging.services import channels, templates, topics
from segments.services import segment_create, segment_refresh
from tenancy.services import tenant_create
t = tenant_create(slug='crash', actor='test')
for n in range(%(customers)d):
    customer_identify(tenant=t, user_id=f'u{n}', anonymous_id=None, email=f'u{n}@example.com', traits={}, actor='t')
customer_identify(tenant=t, user_id='guest', anonymous_id=None, email=None, traits={'plan': 'free'}, actor='t')
s = segment_create(tenant=t, name='mail', definition={'type': 'identifier', 'id_type': 'email'}, actor='t')
segment_refresh(tenant=t, segment_id=s.id, trigger='test')
c = channels.channel_create(tenant=t, name='rows', kind='table', config={}, actor='t')
a = templates.template_create(tenant=t, name='a', channel_kind='table', parts={'payload': '{"v": "a"}'}, actor='t')
b = templates.template_create(tenant=t, name='b', channel_kind='table', parts={'payload': '{"v": "b"}'}, actor='t')
topics.topic_create(tenant=t, key='news', name='News', channel_kind='table', policy='opt_out', actor='t')
made = campaign_create(tenant=t, name='drill', actor='t', definition={
    'audience': {'segments': [s.id]}, 'channel_id': c.id, 'topic': 'news', 'holdout_percent': 10, 'throttle_per_minute': 12,
    'variants': [{'key': 'A', 'template_id': a.id}, {'key': 'B', 'template_id': b.id}], 'seeds': ['qa@example.com'],
    'winner': {'test_percent': 40, 'wait': {'minutes': 2}, 'metric': 'opened'}})
campaign_schedule(tenant=t, campaign_id=made.id, actor='t', now=datetime.fromisoformat('%(start)s'))
"""

QUERIES = ["SELECT number, phase, winner, test_ends_at FROM campaigns_run ORDER BY number",
           "SELECT cdp_id, address, \"group\", seed, test, status, queued_at FROM campaigns_recipient ORDER BY cdp_id, address, \"group\"",
           "SELECT idempotency_key, cdp_id, address FROM messaging_delivery ORDER BY idempotency_key",
           "SELECT status, next_run_at FROM campaigns_campaign"]


@pytest.mark.django_db(transaction=False)
def test_a_send_killed_anywhere_and_run_again_sends_each_recipient_once(tmp_path):
    original = tmp_path / "drill"
    original.mkdir()
    manage = [sys.executable, "manage.py"]
    for args in (["migrate", "-v0"], ["lakehouse", "migrate"],
                 ["shell", "-c", SETUP % {"customers": CUSTOMERS, "start": START.isoformat()}]):
        done = subprocess.run([*manage, *args], cwd=ROOT, env=_env(original), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    clocks = [START, START + timedelta(minutes=1), START + timedelta(minutes=2), START + timedelta(minutes=3)]
    run = subprocess.run([sys.executable, "-m", "tests.kill_drill", str(original), json.dumps([c.isoformat() for c in clocks]), str(TRIALS),
                          "23", "campaigns.services.sending:campaigns_tick", json.dumps(QUERIES)],
                         cwd=ROOT, env=_env(original), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["killed"] >= 20, f"only {result['killed']} runs were killed mid-way; the test proved little"
    assert result["wrong"] == [], f"trials whose end state differs from the uninterrupted run's: {result['wrong']}"
    runs, recipients, deliveries, campaign = result["final"]
    assert [r[:2] for r in runs] == [[1, "completed"]] and runs[0][2] in ("A", "B")
    assert campaign == [["completed", None]]
    statuses = Counter(r[5] for r in recipients)
    assert statuses["queued"] == len(deliveries) and not statuses["pending"] and not statuses["waiting"]
    assert len({d[0] for d in deliveries}) == len(deliveries) and len({(d[1], d[2]) for d in deliveries if d[1]}) == len(deliveries) - 2
