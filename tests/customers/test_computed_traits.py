"""Computed traits: defined per tenant, computed set-based for everyone, kept fresh as events load."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from customers.computed import Definition, computed_traits_apply
from tenancy.roles import Role
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]

NOW = datetime.now(UTC).replace(microsecond=0)
URL = "/api/customers/computed-traits"


def _at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def api(tenant_a, api_as):
    return api_as(tenant_a, Role.EDITOR)


def _send(sdk, *calls):
    assert sdk.post("/api/v1/batch", {"batch": list(calls)}).status_code == 200
    load_inbox()


def _order(user: str, message_id: str, days_ago: float, revenue, sku: str = "sku-1") -> dict:
    return {"type": "track", "userId": user, "event": "Order Completed", "messageId": message_id, "timestamp": _at(days_ago),
            "properties": {"revenue": revenue, "sku": sku}}


@pytest.fixture
def shoppers(sdk):
    _send(sdk,
          {"type": "identify", "userId": "ada", "messageId": "i-ada", "timestamp": _at(100), "traits": {"email": "ada@example.com"}},
          {"type": "identify", "userId": "bob", "messageId": "i-bob", "timestamp": _at(90), "traits": {"email": "bob@example.com"}},
          _order("ada", "o1", 60, 100.0, "sku-1"), _order("ada", "o2", 10, 25.5, "sku-2"), _order("ada", "o3", 2, "n/a", "sku-2"),
          {"type": "page", "userId": "ada", "messageId": "p1", "name": "Home", "timestamp": _at(1)})


def _computed(api, user: str) -> dict:
    profile = api.get(f"/api/customers/lookup?type=user_id&value={user}").json()
    return {t["key"]: t for t in profile["computed_traits"]}


def _define(api, **fields):
    response = api.post(URL, fields)
    assert response.status_code == 201, response.json()
    return response.json()


def test_each_aggregation_gives_the_value_a_person_would_work_out(api, shoppers):
    _define(api, name="orders_30d", aggregation="count", event="Order Completed", window_days=30)
    _define(api, name="orders", aggregation="count", event="Order Completed")
    _define(api, name="lifetime_value", aggregation="sum", event="Order Completed", property="revenue")
    _define(api, name="biggest_order", aggregation="max", event="Order Completed", property="revenue")
    _define(api, name="smallest_order", aggregation="min", event="Order Completed", property="revenue")
    _define(api, name="skus", aggregation="distinct_count", event="Order Completed", property="sku")
    _define(api, name="first_sku", aggregation="first", event="Order Completed", property="sku")
    _define(api, name="last_seen_at", aggregation="last")
    ada = _computed(api, "ada")
    assert ada["orders_30d"]["value"] == 2 and ada["orders"]["value"] == 3
    assert ada["lifetime_value"]["number_value"] == 125.5, "a revenue of 'n/a' is ignored, not counted as 0 or an error"
    assert ada["biggest_order"]["number_value"] == 100.0 and ada["smallest_order"]["number_value"] == 25.5
    assert ada["skus"]["value"] == 2 and ada["first_sku"]["value"] == "sku-1"
    assert ada["last_seen_at"]["value"] == _at(1)
    assert all(t["source"] == "computed" for t in ada.values())
    bob = _computed(api, "bob")
    assert bob["orders"]["value"] == 0 and bob["lifetime_value"]["number_value"] == 0.0
    assert "biggest_order" not in bob, "no orders: no maximum, rather than a made-up one"


def test_loading_new_events_recomputes_the_customers_they_touch(api, sdk, shoppers):
    _define(api, name="orders", aggregation="count", event="Order Completed")
    _send(sdk, _order("bob", "o4", 0.5, 40))
    assert _computed(api, "bob")["orders"]["value"] == 1
    assert _computed(api, "ada")["orders"]["value"] == 3


def test_rolling_windows_move_with_time(lakehouse, tenant_a, api, shoppers):
    definition = Definition(name="orders_30d", aggregation="count", event="Order Completed", window_days=30)
    computed_traits_apply(lakehouse, tenant_a.slug, [definition])
    assert _computed(api, "ada")["orders_30d"]["value"] == 2
    changed = computed_traits_apply(lakehouse, tenant_a.slug, [definition], now=NOW + timedelta(days=29))
    assert _computed(api, "ada")["orders_30d"]["value"] == 0
    assert changed == 1, "only the value that changed is written"
    assert computed_traits_apply(lakehouse, tenant_a.slug, [definition], now=NOW + timedelta(days=29)) == 0


def test_changing_and_deleting_a_definition(api, shoppers):
    trait = _define(api, name="orders", aggregation="count", event="Order Completed")
    changed = api.patch(f"{URL}/{trait['id']}", {"name": "orders_7d", "window_days": 7})
    assert changed.status_code == 200 and changed.json()["last_computed_at"]
    ada = _computed(api, "ada")
    assert "orders" not in ada and ada["orders_7d"]["value"] == 1
    assert api.delete(f"{URL}/{trait['id']}").status_code == 204
    assert "orders_7d" not in _computed(api, "ada")
    assert api.get(f"{URL}/{trait['id']}").status_code == 404


@pytest.mark.parametrize("fields, field", [
    ({"name": "Orders 30d", "aggregation": "count"}, "name"),
    ({"name": "x", "aggregation": "median"}, "aggregation"),
    ({"name": "x", "aggregation": "sum"}, "property"),
    ({"name": "x", "aggregation": "sum", "property": "price'); DROP TABLE events; --"}, "property"),
    ({"name": "x", "aggregation": "count", "window_days": 0}, "window_days"),
])
def test_invalid_definitions_are_refused_naming_the_field(api, fields, field):
    response = api.post(URL, fields)
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}


def test_names_are_unique_and_viewers_only_read(api, tenant_a, api_as, shoppers):
    _define(api, name="orders", aggregation="count")
    assert api.post(URL, {"name": "orders", "aggregation": "count"}).status_code == 409
    viewer = api_as(tenant_a, Role.VIEWER)
    assert viewer.post(URL, {"name": "other", "aggregation": "count"}).status_code == 403
    assert [t["name"] for t in viewer.get(URL).json()["items"]] == ["orders"]


def test_one_tenants_broken_definition_does_not_keep_the_others_stale(api, tenant_b, shoppers):
    from customers.models import ComputedTrait
    from customers.services.computed_traits import RefreshFailed, computed_traits_refresh_all

    _define(api, name="orders", aggregation="count", event="Order Completed")
    # A definition no form would accept, as a bad migration or a hand edit might leave it: its SQL fails.
    ComputedTrait.objects.create(tenant_id=tenant_b.ref.id, name="broken", aggregation="sum", property="it's")
    with pytest.raises(RefreshFailed, match=tenant_b.slug):
        computed_traits_refresh_all()
    assert ComputedTrait.objects.get(name="orders").last_computed_at is not None, "tenant A was refreshed all the same"
    assert ComputedTrait.objects.get(name="broken").last_computed_at is None


@pytest.mark.django_db(transaction=True)
def test_computing_a_definition_for_everyone_is_queued_and_the_page_polls_until_it_is_ready(settings, api, shoppers, console_as):
    from tests.identity.test_runs_queued import _work_the_queue

    settings.CDP_TASKS_INLINE = False
    created = api.post("/api/customers/computed-traits", {"name": "orders", "aggregation": "count", "event": "Order Completed"})
    assert created.status_code == 201 and created.json()["state"] == "queued"
    page = console_as().get("/customers/computed-traits/").content.decode()
    assert 'hx-trigger="load delay:1s"' in page and "queued…" in page
    assert _work_the_queue() == 1
    done = api.get(f"/api/customers/computed-traits/{created.json()['id']}").json()
    assert done["state"] == "ready" and done["last_computed_at"]
    assert _computed(api, "ada")["orders"]["value"] == 3
    refresh = api.post(f"/api/customers/computed-traits/{created.json()['id']}/refresh")
    assert refresh.status_code == 202 and refresh.json()["state"] == "queued"
    assert _work_the_queue() == 1
    assert 'hx-trigger' not in console_as().get("/customers/computed-traits/", headers={"HX-Request": "true"}).content.decode()
