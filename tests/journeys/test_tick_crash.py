"""A tick in a process of its own killed with SIGKILL at random points (24 trials over two clocks,
some killed twice) and run again: each trial's end state — instances, every step of their
history with its time, the outbox's keys — equals the uninterrupted run's, so no send is queued
twice or lost and no customer is lost or moved twice.

The kill comes from inside the process at its N-th write (N random, before or after the statement
runs), so kills land inside transactions, between a round's writes, between the enrolments and
the advance: wherever a crash could leave something half done."""
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
nodes = [send('hello', 'branch'),
         {'id': 'branch', 'type': 'branch', 'else': 'split',
          'ways': [{'condition': {'type': 'trait', 'key': 'plan', 'op': 'equals', 'value': 'pro'}, 'next': 'pro'}]},
         send('pro', 'wait'),
         {'id': 'split', 'type': 'split', 'ways': [{'percent': 50, 'next': 'a'}, {'percent': 50, 'next': 'wait'}]},
         send('a', 'wait'),
         {'id': 'wait', 'type': 'wait', 'duration': {'hours': 1}, 'next': 'last'},
         send('last', 'done'), {'id': 'done', 'type': 'exit'}]
j = journey_create(tenant=t, name='drill', actor='t', definition={'entry': {'type': 'manual'}, 'start': 'hello', 'nodes': nodes,
                                                                  'holdout_percent': 10})
journey_publish(tenant=t, journey_id=j.id, actor='t')
journey_enroll(tenant=t, journey_id=j.id, actor='t', customers=[{'cdp_id': i} for i in ids])
"""

# One process drives every trial: it restores the database a clock starts from, forks a child
# that runs the tick and kills itself at its N-th write (INSERT, UPDATE, DELETE, a savepoint:
# where a crash can leave something half done; reads change nothing), before or after the write,
# then runs the tick again to the end and compares the state with the uninterrupted run's.
# Forking skips Django's start-up for each of the ~50 runs.
DRIVER = """
import json, os, random, shutil, signal, sqlite3, sys
from datetime import datetime
import django
django.setup()
from django.db import connections
from django.db.backends import utils
from journeys.services.orchestrator import orchestrator_tick

data, clocks, trials, seed = sys.argv[1], [datetime.fromisoformat(c) for c in json.loads(sys.argv[2])], int(sys.argv[3]), int(sys.argv[4])
database = os.path.join(data, 'cdp.sqlite3')
writes, plan = [0], {'target': 0, 'stage': ''}

def counting(original):
    def run(self, sql, *args, **kwargs):
        if not sql.lstrip().upper().startswith(('INSERT', 'UPDATE', 'DELETE', 'SAVEPOINT', 'RELEASE')):
            return original(self, sql, *args, **kwargs)
        writes[0] += 1
        if writes[0] == plan['target'] and plan['stage'] == 'before':
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(self, sql, *args, **kwargs)
        if writes[0] == plan['target'] and plan['stage'] == 'after':
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return run

utils.CursorWrapper.execute = counting(utils.CursorWrapper.execute)
utils.CursorWrapper.executemany = counting(utils.CursorWrapper.executemany)

def closed():
    connections.close_all()

def snapshot(name):
    closed()
    shutil.copy(database, os.path.join(data, name))

def restore(name):
    closed()
    for suffix in ('-wal', '-shm'):
        if os.path.exists(database + suffix):
            os.remove(database + suffix)
    shutil.copy(os.path.join(data, name), database)

def state():
    closed()
    db = sqlite3.connect(database)
    try:
        return [db.execute('SELECT instance_id, node, status, step, holdout, due_at FROM journeys_instance ORDER BY instance_id').fetchall(),
                db.execute('SELECT i.instance_id, s.step, s.node, s.way, s.to_node, s.at FROM journeys_instancestep s JOIN journeys_instance i '
                           'ON i.id = s.instance_id ORDER BY i.instance_id, s.step').fetchall(),
                db.execute('SELECT idempotency_key, cdp_id FROM messaging_delivery ORDER BY idempotency_key').fetchall()]
    finally:
        db.close()  # before a restore replaces the file under it

def tick(at, target=0, stage=''):
    closed()
    pid = os.fork()
    if pid == 0:
        writes[0], plan['target'], plan['stage'] = 0, target, stage
        orchestrator_tick(now=at, trigger='drill')
        closed()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL

# The uninterrupted run, counting each tick's writes.
expected, counts = [], []
for i, at in enumerate(clocks):
    snapshot(f'start{i}')
    closed()
    writes[0] = 0
    orchestrator_tick(now=at, trigger='reference')
    counts.append(writes[0])
    expected.append(json.loads(json.dumps(state(), default=str)))
rng, killed, wrong = random.Random(seed), 0, []
for trial in range(trials):
    i = trial % len(clocks)
    restore(f'start{i}')
    points = [(rng.randint(1, counts[i]), rng.choice(['before', 'after'])) for _ in range(1 + (trial % 4 == 3))]  # some twice
    for target, stage in points:
        killed += tick(clocks[i], target, stage)
    assert not tick(clocks[i])  # the run after the kills goes to the end
    if json.loads(json.dumps(state(), default=str)) != expected[i]:
        wrong.append([trial, points])
print(json.dumps({'writes': counts, 'killed': killed, 'wrong': wrong, 'sends': len(expected[-1][2]),
                  'unique': len({k for k, _ in expected[-1][2]}) == len(expected[-1][2])}))
"""


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
    clocks = [start, start + timedelta(hours=2)]  # the first sends, then the wait's end and the last sends
    run = subprocess.run([sys.executable, "-c", DRIVER, str(original), json.dumps([c.isoformat() for c in clocks]), str(TRIALS), "17"],
                         cwd=ROOT, env=_env(original), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["killed"] >= 20, f"only {result['killed']} runs were killed mid-way; the test proved little"
    assert result["wrong"] == [], f"trials whose end state differs from the uninterrupted run's: {result['wrong']}"
    assert result["sends"] > CUSTOMERS and result["unique"]  # sends of several nodes, each key once
