"""Traits keep their JSON type everywhere; operators' edits are recorded as edits, not as customer
activity; computed traits never take an ordinary trait's name."""
from __future__ import annotations

import json

import pytest

from tenancy.models import AuditEntry
from tenancy.roles import Role
from tracking.loader import load_inbox

EVERY_TYPE = {"plan": "pro", "seats": 5, "ratio": 0.25, "huge": 10**400, "vip": True, "muted": False, "tags": ["a", "b"],
              "address": {"city": "Oslo", "zip": "0150"}, "nickname": None, "digits": "02134", "renewal": "2027-03-01"}


@pytest.fixture
def api(tenant_a, api_as):
    return api_as(tenant_a, Role.EDITOR)


@pytest.fixture
def ada(sdk, api, lakehouse):
    batch = [
        {"type": "identify", "userId": "ada", "messageId": "i1", "timestamp": "2026-01-01T10:00:00Z", "traits": EVERY_TYPE},
        {"type": "track", "userId": "ada", "event": "Order Completed", "messageId": "t1", "timestamp": "2026-01-02T10:00:00Z"},
    ]
    assert sdk.post("/api/v1/batch", {"batch": batch}).json()["accepted"] == 2
    load_inbox()
    return api.get("/api/customers/lookup?type=user_id&value=ada").json()["cdp_id"]


@pytest.mark.django_db
def test_every_json_type_round_trips_through_identify_the_api_the_console_and_export(api, ada, console_as):
    traits = {t["key"]: t["value"] for t in api.get(f"/api/customers/{ada}").json()["traits"]}
    assert traits == EVERY_TYPE
    types = {t["key"]: t["type"] for t in api.get(f"/api/customers/{ada}").json()["traits"]}
    assert types["seats"] == "number" and types["vip"] == "boolean" and types["tags"] == "array" and types["nickname"] == "null"
    patched = api.patch(f"/api/customers/{ada}", {"set": {"seats": 6, "tags": ["c"], "vip": False, "meta": {"a": [1, None]}}}).json()
    assert {t["key"]: t["value"] for t in patched["traits"]} == {**EVERY_TYPE, "seats": 6, "tags": ["c"], "vip": False, "meta": {"a": [1, None]}}
    console = console_as(Role.EDITOR)
    for value, kind, expected in (("42", "auto", 42), ("42", "string", "42"), ("true", "auto", True), ('["x"]', "auto", ["x"]),
                                  ("hello", "auto", "hello"), ("02134", "auto", "02134"), ("3.5", "number", 3.5)):
        answer = console.post(f"/customers/{ada}/traits/", {"key": "form", "value": value, "type": kind})
        assert answer.status_code in (200, 302), answer.content
        typed = {t["key"]: t["value"] for t in api.get(f"/api/customers/{ada}").json()["traits"]}["form"]
        assert typed == expected and type(typed) is type(expected), (value, kind, typed)
    refused = console.post(f"/customers/{ada}/traits/", {"key": "form", "value": "abc", "type": "number"})
    assert refused.status_code == 422 and b"number" in refused.content
    exported = api.get(f"/api/customers/{ada}/export").json()
    assert {t["key"]: t["value"] for t in exported["traits"]}["address"] == {"city": "Oslo", "zip": "0150"}


@pytest.mark.django_db
def test_an_operators_trait_edit_is_not_customer_activity(api, ada, console_as):
    def activity():
        profile = api.get(f"/api/customers/{ada}").json()
        events = api.get(f"/api/customers/{ada}/events").json()["items"]
        listed = next(c for c in api.get("/api/customers").json()["items"] if c["cdp_id"] == ada)
        return [e["message_id"] for e in events], [(i["type"], i["last_seen_at"]) for i in profile["identities"]], listed["last_seen_at"]

    before = activity()
    api.patch(f"/api/customers/{ada}", {"set": {"plan": "team"}, "unset": ["muted"]})
    console_as(Role.EDITOR).post(f"/customers/{ada}/traits/", {"key": "tier", "value": "gold", "type": "auto"})
    assert activity() == before, "no event, no new last-seen time"
    changes = api.get(f"/api/customers/{ada}/changes").json()["items"]
    edits = {(c["key"], c["action"], c["source"]) for c in changes if c["actor"]}
    assert edits == {("plan", "set", "api"), ("muted", "unset", "api"), ("tier", "set", "console")}
    assert AuditEntry.objects.filter(action="customer.traits", target=ada).count() == 2
    page = console_as(Role.EDITOR).get(f"/customers/{ada}/").content.decode()
    assert "gold" in page and "team" in page


@pytest.mark.django_db
def test_operators_edits_follow_a_merge(api, sdk, lakehouse):
    sdk.post("/api/v1/batch", {"batch": [{"type": "page", "anonymousId": "visitor", "messageId": "p1", "timestamp": "2026-01-01T10:00:00Z"},
                                         {"type": "identify", "userId": "grace", "messageId": "i1", "timestamp": "2026-01-02T10:00:00Z",
                                          "traits": {"plan": "free"}}]})
    load_inbox()
    grace = api.get("/api/customers/lookup?type=user_id&value=grace").json()["cdp_id"]
    visitor = api.get("/api/customers/lookup?type=anonymous_id&value=visitor").json()["cdp_id"]
    assert grace != visitor
    api.patch(f"/api/customers/{grace}", {"set": {"tier": "gold"}})
    sdk.post("/api/v1/batch", {"batch": [{"type": "identify", "userId": "grace", "anonymousId": "visitor", "messageId": "i2",
                                          "timestamp": "2026-01-03T10:00:00Z"}]})
    load_inbox()
    merged = api.get("/api/customers/lookup?type=user_id&value=grace").json()
    assert {merged["cdp_id"]} == {api.get("/api/customers/lookup?type=anonymous_id&value=visitor").json()["cdp_id"]}
    traits = {t["key"]: (t["value"], t["source"]) for t in merged["traits"]}
    assert traits["tier"] == ("gold", "api") and traits["plan"] == ("free", "identify")


@pytest.mark.django_db
def test_a_computed_trait_may_not_take_an_ordinary_traits_name(api, ada):
    answer = api.post("/api/customers/computed-traits", {"name": "plan", "aggregation": "count"})
    assert answer.status_code == 409 and "plan" in answer.json()["detail"]
    fine = api.post("/api/customers/computed-traits", {"name": "orders", "aggregation": "count", "event": "Order Completed"})
    assert fine.status_code == 201
    renamed = api.patch(f"/api/customers/computed-traits/{fine.json()['id']}", {"name": "seats"})
    assert renamed.status_code == 409
    edited = api.patch(f"/api/customers/{ada}", {"set": {"orders": 7}})
    assert edited.status_code == 409 and "computed trait" in edited.json()["detail"], "an operator cannot overwrite a computed value"


@pytest.mark.django_db
def test_a_collision_saved_before_names_were_checked_is_reported_and_never_overwrites(api, ada, tenant_a, capsys):
    from django.core.management import call_command

    from customers.models import ComputedTrait

    ComputedTrait.objects.create(tenant_id=tenant_a.ref.id, name="plan", aggregation="count", created_by="old version")
    api.post(f"/api/customers/computed-traits/{ComputedTrait.objects.get(name='plan').id}/refresh")
    assert {t["key"]: t["value"] for t in api.get(f"/api/customers/{ada}").json()["traits"]}["plan"] == "pro"
    call_command("cdp_trait_collisions", "--tenant", tenant_a.slug)
    out = capsys.readouterr().out
    assert "plan" in out and "1 customer" in out
    assert json.dumps(EVERY_TYPE["address"])  # the fixture's data is untouched
