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
