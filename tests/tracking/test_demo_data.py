"""The demo dataset: realistic shapes, deterministic, loaded once."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lakehouse.statements import Statement
from tracking.demo import demo_data_load

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]
# A fixed clock: how calls fall into days depends on the time of day the data ends at.
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def _q(engine, tenant, sql):
    return engine.execute(Statement("test.demo", sql), {"tenant_id": tenant.slug}).dicts()


def test_demo_data_has_the_shapes_operators_expect_and_loads_once(tenant_a, lakehouse):
    result = demo_data_load(tenant=tenant_a.ref, customers=200, events=4000, seed=3, now=NOW)
    assert result.created and result.events == 4000 and 150 <= result.customers <= 260
    events = {r["event"]: r["n"] for r in _q(lakehouse, tenant_a, "SELECT event, COUNT(*) AS n FROM {events} WHERE tenant_id = :tenant_id GROUP BY event")}
    assert {"Home", "Product Viewed", "Product Added", "Checkout Started", "Order Completed"} <= set(events)
    assert events["Product Viewed"] > events["Product Added"] > events["Order Completed"], "a funnel narrows"
    # Visitors who identify later: their anonymous page views sit on the same customer as their userId.
    joined = _q(lakehouse, tenant_a, "SELECT COUNT(DISTINCT a.cdp_id) AS n FROM {identities} a JOIN {identities} u "
                                     "ON u.tenant_id = a.tenant_id AND u.cdp_id = a.cdp_id AND u.id_type = 'user_id' "
                                     "WHERE a.tenant_id = :tenant_id AND a.id_type = 'anonymous_id'")
    assert joined[0]["n"] > 50
    anonymous_only = result.customers - joined[0]["n"]
    assert anonymous_only > 20, "some visitors never sign up"
    values = {r["key"]: r["n"] for r in _q(lakehouse, tenant_a, "SELECT key, COUNT(*) AS n FROM {traits} WHERE tenant_id = :tenant_id "
                                                               "AND source = 'computed' GROUP BY key")}
    assert set(values) == {"orders_30d", "lifetime_value", "last_seen_at", "page_views_7d"}
    from identity.selectors import shared_identifiers

    kiosk = [s for s in shared_identifiers(tenant=tenant_a.ref) if s["value"] == "store-kiosk-1"]
    assert kiosk and kiosk[0]["conflicts"] >= 2, "the kiosk many sign in at shows up as a shared identifier"
    # Returning customers' events fall on days of their own across the 90 days, not on one day
    # (before: half the customers had a single active day, 2.2 on average).
    days: dict[str, set] = {}
    for row in _q(lakehouse, tenant_a, "SELECT cdp_id, event_time FROM {events} WHERE tenant_id = :tenant_id"):
        days.setdefault(row["cdp_id"], set()).add(row["event_time"].date())
    active = [len(d) for d in days.values()]
    assert sum(active) / len(active) >= 2.8 and sum(1 for n in active if n == 1) / len(active) <= 0.42, active
    assert (max(max(d) for d in days.values()) - min(min(d) for d in days.values())).days >= 80, "over the 90 days"
    again = demo_data_load(tenant=tenant_a.ref, customers=200, events=4000, seed=3)
    assert not again.created
    assert _q(lakehouse, tenant_a, "SELECT COUNT(*) AS n FROM {events} WHERE tenant_id = :tenant_id")[0]["n"] == 4000


def test_demo_segments_are_realistic_audiences(tenant_a, lakehouse):
    from segments.demo import DEMO_SEGMENTS, demo_segments_load
    from segments.models import Segment

    demo_data_load(tenant=tenant_a.ref, customers=300, events=8000, seed=3)  # ends now: the segments refresh now
    assert demo_segments_load(tenant=tenant_a.ref) == len(DEMO_SEGMENTS) + 1
    sizes = dict(Segment.objects.filter(tenant_id=tenant_a.ref.id).values_list("name", "members"))
    customers = lakehouse.execute(Statement("test.n", "SELECT COUNT(DISTINCT cdp_id) AS n FROM {identities} WHERE tenant_id = :tenant_id"),
                                  {"tenant_id": tenant_a.slug}).first()["n"]
    for name, members in sizes.items():
        assert 0 < members < customers, (name, members, sizes)  # each picks some customers, not all
    assert 0.05 * customers <= sizes["10% sample"] <= 0.15 * customers
    assert sizes["Beta testers"] >= 10
    assert demo_segments_load(tenant=tenant_a.ref) == 0
