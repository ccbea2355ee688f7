"""A real drain process (`manage.py cdp_deliver`, four sends in flight at once) killed with
SIGKILL at 12 points, before and after the receiver answers, and started again: every key ends in
one final status, every webhook-id arrives, none more than twice, and no key is ever sent under
two ids. Each kill lands past the re-sends of what the last one interrupted (a drain sends those
alone, first, however many the kill left: sends whose outcomes were not yet written), as kills
minutes apart would."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.messaging.receivers import Receiver

pytestmark = pytest.mark.own_database  # processes on a database of their own: once, not again on PostgreSQL

ROOT = Path(__file__).resolve().parents[2]
DELIVERIES, KILLS, IN_FLIGHT = 200, 12, 4  # each kill is a process start (~4 s): 12 cover both stages often


def _interrupted(data_dir: Path) -> int:
    """Deliveries a killed drain left mid-send (`sending`): the next drain re-sends them first."""
    with sqlite3.connect(data_dir / "cdp.sqlite3") as db:
        return db.execute("SELECT COUNT(*) FROM messaging_delivery WHERE status = 'sending'").fetchone()[0]


@pytest.mark.django_db(transaction=False)
def test_a_drain_killed_at_any_point_sends_each_key_once_under_one_id(tmp_path):
    env = {**os.environ, "CDP_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "cdp_site.settings.local", "DEBUG": "false",
           "CDP_LOG_LEVEL": "WARNING", "CDP_WEBHOOK_ALLOW_PRIVATE": "true", "CDP_DELIVERY_CONCURRENCY": str(IN_FLIGHT)}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    manage = [sys.executable, "manage.py"]
    rng = random.Random(16)
    with Receiver() as receiver:
        script = (
            "from customers.services import customer_identify; from messaging.services import channels, outbox, templates;"
            "from messaging.types import SendRequest; from tenancy.services import tenant_create;"
            "t = tenant_create(slug='crash', actor='test');"
            "ids = [customer_identify(tenant=t, user_id=f'u{n}', anonymous_id=None, email=None, traits={}, actor='t').cdp_id for n in range(10)];"
            f"c = channels.channel_create(tenant=t, name='hook', kind='webhook', config={{'url': '{receiver.url}/hook'}}, actor='t');"
            "tp = templates.template_create(tenant=t, name='x', channel_kind='webhook', parts={'body': '{\"n\": \"{{ vars.n }}\"}'}, actor='t');"
            f"[outbox.delivery_enqueue(tenant=t, request=SendRequest(key=f'k{{n}}', channel_id=c.id, template_id=tp.id, cdp_id=ids[n % 10],"
            f" category='transactional', variables={{'n': n}})) for n in range({DELIVERIES})]"
        )
        for args in (["migrate", "-v0"], ["lakehouse", "migrate"], ["shell", "-c", script]):
            done = subprocess.run([*manage, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
        # Each run's clock is ten minutes after the last: a killed run's claims (5 minutes) have expired.
        clock, killed = datetime.now(UTC), 0  # the deliveries were queued due now
        for run in range(KILLS + 1):
            clock += timedelta(minutes=10)
            process = subprocess.Popen([*manage, "cdp_deliver", "--at", clock.isoformat(), "-v0"], cwd=ROOT, env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if run < KILLS:
                # Past the re-sends of what the last kill interrupted (sent alone, first), a little
                # further; before or after the receiver answers.
                target, stage = len(receiver.received) + _interrupted(tmp_path) + rng.randint(1, 4), rng.choice(["before", "after"])
                fired = threading.Event()

                def hook(count, when, target=target, stage=stage, pid=process.pid, fired=fired):
                    if count >= target and when == stage and not fired.is_set():
                        fired.set()
                        os.kill(pid, signal.SIGKILL)

                receiver.hook = hook
            else:
                receiver.hook = None
            process.wait(timeout=120)
            if run < KILLS and process.returncode == -signal.SIGKILL:
                killed += 1
            elif run == KILLS:
                assert process.returncode == 0, process.stderr.read()
        assert killed >= 10, f"only {killed} runs were killed mid-way; the test proved little"
        with sqlite3.connect(tmp_path / "cdp.sqlite3") as db:
            rows = db.execute("SELECT idempotency_key, delivery_id, status FROM messaging_delivery").fetchall()
            # Every send became one event on its customer, however the kills fell (the event outbox).
            events = db.execute("SELECT COUNT(*), COUNT(DISTINCT json_extract(properties, '$.delivery_id')) FROM events "
                                "WHERE event = 'Message Sent'").fetchone()
    assert len(rows) == DELIVERIES
    assert Counter(status for _, _, status in rows) == {"sent": DELIVERIES}
    assert events == (DELIVERIES, DELIVERIES)
    ids = {delivery_id for _, delivery_id, _ in rows}
    received = Counter(receiver.ids())
    assert set(received) == ids  # every key arrived, and only under its own id
    assert max(received.values()) <= 2, received.most_common(3)
    assert sum(1 for n in received.values() if n == 2) >= killed // 2  # the kills did interrupt sends
