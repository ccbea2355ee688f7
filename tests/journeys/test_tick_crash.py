"""A tick in a process of its own killed with SIGKILL at random points (24 trials over two clocks,
some killed twice) and run again: each trial's end state — instances, every step of their
history with its time, the outbox's keys — equals the uninterrupted run's, so no send is queued
twice or lost and no customer is lost or moved twice.

The kill comes from inside the process at its N-th write (tests/kill_drill.py), so kills land
inside transactions, between a round's writes, between the enrolments and the advance: wherever
a crash could leave something half done."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = pytest.mark.own_database  # processes on a database of their own: once, not again on PostgreSQL

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS, TRIALS = 40, 24

SETUP = """
from customers.services import customer_identify
from journeys.services.journeys import journey_create, journey_enroll, journey_publish
from messaging.services import channels, templates, topics
from tenancy.services import tenant_create
t = tenant_create(slug='crash', actor='test')
ids = [customer_identify(tenant=t, user_id=f'u{n}', anonymous_id=None, email=f'u{n}@example.com',
                         traits={'plan': 'pro' if n %% 3 == 0 else 'free'}, actor='t').cdp_id for n in range(%(customers)d)]
c = channels.channel_create(tenant=t, name='rows', kind='table', config={}, actor='t')
tp = templates.template_create(tenant=t, name='x', channel_kind='table', parts={'payload': '{"k": {{ vars.key | json }}}'}, actor='t')
topics.topic_create(tenant=t, key='news', name='News', channel_kind='table', policy='opt_out', actor='t')
send = lambda i, nxt: {'id': i, 'type': 'send', 'channel_id': c.id, 'template_id': tp.id, 'topic': 'news', 'next': nxt}
# A webhook nobody answers (no drain runs in the drill): its call is queued once, then its timeout takes the failure policy.
hook = channels.channel_create(tenant=t, name='score', kind='webhook', config={'url': 'https://hooks.example.com/score'}, actor='t')
body = templates.template_create(tenant=t, name='s', channel_kind='webhook', parts={'body': '{"c": {{ customer.cdp_id | json }}}'}, actor='t')
then = journey_create(tenant=t, name='then', actor='t', definition={'entry': {'type': 'manual'}, 'start': 'after', 'holdout_percent': 0,
                                                                    'nodes': [send('after', 'end'), {'id': 'end', 'type': 'exit'}]})
journey_publish(tenant=t, journey_id=then.id, actor='t')
nodes = [send('hello', 'branch'),
         {'id': 'branch', 'type': 'branch', 'else': 'split',
          'ways': [{'condition': {'type': 'trait', 'key': 'plan', 'op': 'equals', 'value': 'pro'}, 'next': 'pro'}]},
         send('pro', 'wait'),
         {'id': 'split', 'type': 'split', 'ways': [{'percent': 50, 'next': 'a'}, {'percent': 50, 'next': 'wait'}]},
         send('a', 'wait'),
         {'id': 'wait', 'type': 'wait', 'duration': {'hours': 1}, 'next': 'mark'},
         {'id': 'mark', 'type': 'update_trait', 'set': {'stage': 'late'}, 'from_context': {'origin': 'entry.origin'}, 'next': 'hand'},
         {'id': 'hand', 'type': 'enroll', 'journey_id': then.id, 'next': 'score'},
         {'id': 'score', 'type': 'webhook', 'channel_id': hook.id, 'template_id': body.id, 'timeout': {'minutes': 30},
          'on_failure': {'then': 'continue'}, 'next': 'last'},
         send('last', 'done'), {'id': 'done', 'type': 'exit'}]
j = journey_create(tenant=t, name='drill', actor='t', definition={'entry': {'type': 'manual'}, 'start': 'hello', 'nodes': nodes,
                                                                  'holdout_percent': 10})
journey_publish(tenant=t, journey_id=j.id, actor='t')
journey_enroll(tenant=t, journey_id=j.id, actor='t', customers=[{'cdp_id': i} for i in ids], context={'origin': 'drill'})
"""

# What the drill compares after each run: instances, every step of their history, the outbox's keys.
QUERIES = ["SELECT instance_id, node, status, step, holdout, due_at FROM journeys_instance ORDER BY instance_id",
           "SELECT i.instance_id, s.step, s.node, s.way, s.to_node, s.at FROM journeys_instancestep s JOIN journeys_instance i "
           "ON i.id = s.instance_id ORDER BY i.instance_id, s.step",
           "SELECT idempotency_key, cdp_id FROM messaging_delivery ORDER BY idempotency_key",
           # update_trait's writes in the lakehouse (the embedded engine: the same file), each change once
           "SELECT cdp_id, key, value, updated_at FROM traits WHERE source = 'journey' ORDER BY cdp_id, key",
           "SELECT change_id, cdp_id, key, value, action, event_time FROM profile_changes WHERE source = 'journey' ORDER BY change_id"]


def _env(data_dir: Path) -> dict:
    env = {**os.environ, "CDP_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "cdp_site.settings.local", "DEBUG": "false",
           "CDP_LOG_LEVEL": "WARNING"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


@pytest.mark.django_db(transaction=False)
def test_a_tick_killed_anywhere_and_run_again_ends_as_an_uninterrupted_one(tmp_path):
    original = tmp_path / "drill"
    original.mkdir()
    manage = [sys.executable, "manage.py"]
    for args in (["migrate", "-v0"], ["lakehouse", "migrate"], ["shell", "-c", SETUP % {"customers": CUSTOMERS}]):
        done = subprocess.run([*manage, *args], cwd=ROOT, env=_env(original), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    start = datetime.now(UTC) + timedelta(minutes=1)
    # The first sends; the wait's end (a trait written, an enrolment in `then`, a webhook queued);
    # the webhook's timeout and the last sends.
    clocks = [start, start + timedelta(hours=2), start + timedelta(hours=3)]
    run = subprocess.run([sys.executable, "-m", "tests.kill_drill", str(original), json.dumps([c.isoformat() for c in clocks]), str(TRIALS),
                          "17", "journeys.services.orchestrator:orchestrator_tick", json.dumps(QUERIES)],
                         cwd=ROOT, env=_env(original), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["killed"] >= 20, f"only {result['killed']} runs were killed mid-way; the test proved little"
    assert result["wrong"] == [], f"trials whose end state differs from the uninterrupted run's: {result['wrong']}"
    instances, _, sends, traits, changes = result["final"]
    assert len(sends) > CUSTOMERS and len({k for k, _ in sends}) == len(sends)  # sends of several nodes, each key once
    assert any(":score:" in k for k, _ in sends)  # the webhooks' calls are among them
    marked = {cdp_id for cdp_id, key, _, _ in traits if key == "stage"}
    assert len(marked) == CUSTOMERS - sum(1 for i in instances if i[4]) and len(changes) == 2 * len(marked)  # stage and origin, once each
    assert sum(1 for i in instances if i[1] == "end") == len(marked)  # each handed to `then`, which ran to its exit
