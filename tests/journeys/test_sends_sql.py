"""A tick queues a send node's messages and writes their history rows in SQL from the instances'
rows: the key and the variables computed there are those `QueuedSend` computes in Python for one
instance (a journey test's preview, a webhook's call), context by context, on every database."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from journeys.models import Instance, Journey
from journeys.services.sends import QueuedSend, send_key

pytestmark = pytest.mark.django_db

T = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONTEXTS = [
    {},
    {"entry": {"cartId": "c-1", "total": 12.5, "items": [{"sku": "a"}], "gift": None}},
    {"entry": {}, "vars": {"score": 7, "plan": {"tier": "pro"}}},
    {"vars": {"event": {"stale": True}, "key": "shadowed", "journey": 1, "kept": "yes"}, "entry": {"x": "é ✓ \"q\""}},
    {"entry": None, "vars": {}},
    {"entry": "a plain string", "vars": {"n": None}},
]


@pytest.fixture
def instances(tenant_a):
    journey = Journey.objects.create(tenant_id=tenant_a.ref.id, name="j", status="active", version=1, live_version=1, created_by="t")
    rows = []
    for n, context in enumerate(CONTEXTS):
        rows.append(Instance.objects.create(tenant_id=tenant_a.ref.id, journey=journey, version=1, instance_id=f"ji_{n:032x}",
                                            cdp_id=f"c{n}", key="" if n % 2 else f"cart-{n}", entry_ref=f"t:{n}", node="s", step=n * 3,
                                            entered_at=T, arrived_at=T, due_at=T, context=context, bucket=n))
    return journey, rows


def test_the_sql_key_and_variables_are_the_pythons(instances):
    journey, rows = instances
    spec = QueuedSend(journey_id=journey.id, version=1, name='A "quoted" journey', node="s", channel_id=1, template_id=2,
                      category="marketing", topic="news")
    computed = {r["id"]: r for r in Instance.objects.filter(id__in=[r.id for r in rows])
                .annotate(k=spec.key_sql(), v=spec.variables_sql()).values("id", "k", "v")}
    for row in rows:
        got = computed[row.id]
        assert got["k"] == send_key(row, "s") == spec.request(row).key
        variables = got["v"] if isinstance(got["v"], dict) else json.loads(got["v"])
        assert variables == spec.variables(row), row.context


@pytest.mark.usefixtures("lakehouse")
@pytest.mark.parametrize("set_min", [1, 10_000], ids=["in-sql", "from-python"])
def test_a_ticks_history_and_sends_say_the_same_written_either_way(tenant_a, people, hook, t0, set_min, monkeypatch):
    """Steps taken by many are written by INSERT ... SELECT, by few from Python: the same rows."""
    from datetime import timedelta

    from journeys.models import InstanceStep
    from journeys.services import moves
    from journeys.services.journeys import journey_create, journey_enroll, journey_publish
    from journeys.services.orchestrator import orchestrator_tick
    from messaging.models import Delivery

    monkeypatch.setattr(moves, "SET_MIN", set_min)
    channel, template = hook
    definition = {"entry": {"type": "manual"}, "start": "s", "holdout_percent": 0,
                  "nodes": [{"id": "s", "type": "send", "channel_id": channel, "template_id": template, "topic": "offers", "next": "w"},
                            {"id": "w", "type": "wait", "duration": {"minutes": 1}, "next": "done"}, {"id": "done", "type": "exit"}]}
    info = journey_publish(tenant=tenant_a.ref, journey_id=journey_create(tenant=tenant_a.ref, name="Either way", definition=definition,
                                                                          actor="t").id, actor="t")
    journey_enroll(tenant=tenant_a.ref, journey_id=info.id, actor="t", customers=[{"cdp_id": c} for c in people.values()],
                   context={"cartId": "c-9", "total": 12.5})
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    orchestrator_tick(now=t0 + timedelta(minutes=3))
    spec = QueuedSend(journey_id=info.id, version=1, name="Either way", node="s", channel_id=channel, template_id=template,
                      category="marketing", topic="offers")
    for row in Instance.objects.filter(journey_id=info.id):
        assert row.status == "completed"
        steps = {s.node: s for s in InstanceStep.objects.filter(instance=row)}
        delivery = Delivery.objects.get(idempotency_key=steps["s"].detail["key"])
        assert delivery.idempotency_key == f"journey:{info.id}.1:{row.instance_id}:s:{steps['s'].step}"
        assert delivery.variables == spec.variables(row) and delivery.variables["event"] == {"cartId": "c-9", "total": 12.5}
        assert (steps["s"].way, steps["s"].to_node, steps["s"].tick is not None) == ("next", "w", True)
        assert (steps["w"].way, steps["w"].detail) == ("next", {})
        assert (steps["done"].way, steps["done"].detail) == ("exit", {"reason": "reached an exit"})


def test_a_start_up_check_refuses_a_sqlite_without_the_json_operators(monkeypatch):
    import sqlite3

    from journeys import checks

    assert checks.sqlite_json_operators(None) == []
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 37, 2))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.37.2")
    from django.db import connection

    if connection.vendor != "sqlite":  # (the PostgreSQL pass) no SQLite database, nothing to refuse
        assert checks.sqlite_json_operators(None) == []
        return
    [error] = checks.sqlite_json_operators(None)
    assert error.id == "journeys.E001" and "3.38" in error.msg
