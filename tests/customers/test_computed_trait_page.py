"""A computed trait's own page: its values' distribution as a chart (numbers in ranges, dates by
day, other values by count), its state polled while it computes, recompute, and the definition
editable by editors (read-only for viewers)."""
from __future__ import annotations

import json

import pytest

from customers.models import ComputedTrait
from customers.selectors import trait_distribution
from customers.services import computed_traits, customer_identify
from tenancy.roles import Role
from tests.conftest import ApiClient
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


@pytest.fixture
def orders(tenant_a):
    sdk = ApiClient.for_write_key(tenant_a.write_key)
    calls = [{"type": "track", "event": "Order Completed", "userId": f"u{c}", "properties": {"revenue": 10 * c + n},
              "timestamp": f"2026-11-{10 + c:02d}T12:00:00Z", "messageId": f"o{c}-{n}"} for c in range(1, 6) for n in range(c)]
    assert sdk.post("/api/v1/batch", json.dumps({"batch": calls})).status_code == 200
    load_inbox()
    made = {}
    for name, values in (("orders", {"aggregation": "count", "event": "Order Completed"}),
                         ("spend", {"aggregation": "sum", "event": "Order Completed", "property": "revenue"}),
                         ("last_order_at", {"aggregation": "last", "event": "Order Completed"})):
        info = computed_traits.computed_trait_create(tenant=tenant_a.ref, actor="test", values={"name": name, **values})
        computed_traits.computed_trait_compute(info.id)
        made[name] = info.id
    return made


def test_distributions_of_counts_sums_dates_and_text(tenant_a, orders):
    counts = trait_distribution(tenant=tenant_a.ref, key="orders")
    assert counts.kind == "numbers" and counts.bars == [("1", 1), ("2", 1), ("3", 1), ("4", 1), ("5", 1)], "a bar per count"
    spend = trait_distribution(tenant=tenant_a.ref, key="spend")
    assert spend.kind == "numbers" and sum(n for _, n in spend.bars) == 5 and spend.low == 10 and spend.high == 260
    assert spend.bars[0][0].startswith("0–") and len(spend.bars) <= 13
    dates = trait_distribution(tenant=tenant_a.ref, key="last_order_at")
    assert dates.kind == "days" and len(dates.bars) == 30 and dates.bars[-1] == ("2026-11-15", 1) and sum(n for _, n in dates.bars) == 5
    customer_identify(tenant=tenant_a.ref, user_id="u1", anonymous_id=None, email=None, phone=None, traits={"plan": "pro"}, actor="test")
    customer_identify(tenant=tenant_a.ref, user_id="u2", anonymous_id=None, email=None, phone=None, traits={"plan": "pro"}, actor="test")
    customer_identify(tenant=tenant_a.ref, user_id="u3", anonymous_id=None, email=None, phone=None, traits={"plan": "free"}, actor="test")
    assert trait_distribution(tenant=tenant_a.ref, key="plan").bars == [("pro", 2), ("free", 1)]
    assert trait_distribution(tenant=tenant_a.ref, key="nothing").kind == "none"


def test_the_page_charts_values_and_editors_change_the_definition(console_as, orders):
    viewer = console_as(Role.VIEWER)
    page = viewer.get(f"/customers/computed-traits/{orders['spend']}/").content.decode()
    assert '<svg class="bar-chart"' in page and "5 customers hold it" in page and "from 10 to 260" in page
    assert "Recompute now" not in page and "Save and recompute" not in page and "disabled" in page, "read-only for viewers"
    assert viewer.post(f"/customers/computed-traits/{orders['spend']}/", {"name": "x"}).status_code == 403
    editor = console_as(Role.EDITOR)
    listing = editor.get("/customers/computed-traits/").content.decode()
    assert f'href="/customers/computed-traits/{orders["spend"]}/"' in listing
    saved = editor.post(f"/customers/computed-traits/{orders['spend']}/", {"name": "spend", "aggregation": "max", "event": "Order Completed",
                                                                          "property": "revenue", "description": "Biggest order"}, follow=True)
    page = saved.content.decode()
    assert "being recomputed" in page and "Biggest order" in page and "from 10 to 54" in page, \
        "max of revenue: 10 for u1 ... 54 for u5 (tests run tasks at once)"
    ComputedTrait.objects.filter(id=orders["spend"]).update(state="running")  # as while the task runs
    poll = editor.get(f"/customers/computed-traits/{orders['spend']}/", headers={"HX-Request": "true"}).content.decode()
    assert 'id="trait-state"' in poll and 'hx-trigger="load delay:1s"' in poll and "computing" in poll and "<html" not in poll
    ComputedTrait.objects.filter(id=orders["spend"]).update(state="ready")
    done = editor.get(f"/customers/computed-traits/{orders['spend']}/", headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in done and "Show the new values" in done, "polling stops when it is computed"
    bad = editor.post(f"/customers/computed-traits/{orders['spend']}/", {"name": "Bad Name", "aggregation": "max"})
    assert bad.status_code == 422 and 'role="alert"' in bad.content.decode()
    refreshed = editor.post(f"/customers/computed-traits/{orders['spend']}/refresh/", follow=True).content.decode()
    assert "is being recomputed" in refreshed
    assert editor.get("/customers/computed-traits/999999/").status_code == 404
