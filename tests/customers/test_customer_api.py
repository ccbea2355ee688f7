"""The customer API: find anyone, see everything known about them, change traits, consent and privacy."""
from __future__ import annotations

import json

import pytest

from customers.models import SuppressedIdentifier
from lakehouse.statements import Statement
from tenancy.models import AuditEntry
from tenancy.roles import Role
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]

ALL_ROWS = {
    name: Statement(f"test.all.{name}", f"SELECT COUNT(*) AS n FROM {{{name}}} WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id")
    for name in ("events", "traits", "identities", "consents")
}


@pytest.fixture
def api(tenant_a, api_as):
    return api_as(tenant_a, Role.EDITOR)


@pytest.fixture
def ada(sdk):
    batch = {"batch": [
        {"type": "page", "anonymousId": "anon-ada", "messageId": "p1", "name": "Home", "timestamp": "2026-01-01T10:00:00Z"},
        {"type": "identify", "anonymousId": "anon-ada", "userId": "ada", "messageId": "i1", "timestamp": "2026-01-01T10:01:00Z",
         "traits": {"email": "Ada@Example.com", "name": "Ada Lovelace", "plan": "pro", "age": 36}},
        {"type": "track", "userId": "ada", "event": "Order Completed", "messageId": "t1", "timestamp": "2026-01-02T10:00:00Z",
         "properties": {"revenue": 99.5}},
        {"type": "track", "userId": "bob", "event": "Order Completed", "messageId": "t2", "timestamp": "2026-01-03T10:00:00Z"},
    ]}
    assert sdk.post("/api/v1/batch", batch).json()["accepted"] == 4
    load_inbox()
    return batch


def _ada_id(api) -> str:
    return api.get("/api/customers/lookup?type=email&value=ada@example.com").json()["cdp_id"]


def test_profile_shows_traits_with_source_and_time_identities_and_consent(api, ada):
    profile = api.get(f"/api/customers/{_ada_id(api)}").json()
    traits = {t["key"]: t for t in profile["traits"]}
    assert traits["plan"]["value"] == "pro" and traits["plan"]["source"] == "identify"
    assert traits["age"]["number_value"] == 36.0 and traits["age"]["updated_at"].startswith("2026-01-01T10:01")
    assert {(i["type"], i["value"]) for i in profile["identities"]} == {("anonymous_id", "anon-ada"), ("user_id", "ada"), ("email", "ada@example.com")}
    assert profile["consents"] == [] and profile["suppressed"] is False


def test_profile_answer_is_exactly_the_documented_schema(api, ada):
    """The profile read is serialised without ninja's validation; it must still be CustomerOut."""
    from customers.schemas import CustomerOut

    response = api.get(f"/api/customers/{_ada_id(api)}")
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == set(CustomerOut.model_fields)
    assert CustomerOut.model_validate(body).model_dump(mode="json").keys() == body.keys()


def test_lookup_by_each_identifier_and_404s(api, ada):
    cdp_id = _ada_id(api)
    assert api.get("/api/customers/lookup?type=user_id&value=ada").json()["cdp_id"] == cdp_id
    assert api.get("/api/customers/lookup?type=anonymous_id&value=anon-ada").json()["cdp_id"] == cdp_id
    assert api.get("/api/customers/lookup?type=email&value=nobody@example.com").status_code == 404
    assert api.get("/api/customers/cdp_does_not_exist").status_code == 404


def test_list_and_search(api, ada):
    listed = api.get("/api/customers").json()
    assert len(listed["items"]) == 2 and listed["next_offset"] is None
    found = api.get("/api/customers?q=LOVELACE").json()["items"]
    assert [(c["name"], c["email"]) for c in found] == [("Ada Lovelace", "Ada@Example.com")]
    assert api.get("/api/customers?q=bo").json()["items"][0]["cdp_id"] != found[0]["cdp_id"]
    assert [c["cdp_id"] for c in api.get("/api/customers?trait=plan:pro").json()["items"]] == [found[0]["cdp_id"]]
    assert api.get("/api/customers?q=100%25").json()["items"] == []  # wildcards in the query are literal
    assert api.get("/api/customers?trait=noseparator").status_code == 422
    first = api.get("/api/customers?limit=1").json()
    second = api.get(f"/api/customers?limit=1&offset={first['next_offset']}").json()
    assert first["items"][0]["cdp_id"] != second["items"][0]["cdp_id"] and second["next_offset"] is None


def test_timeline_filters_and_pages(api, ada):
    cdp_id = _ada_id(api)
    events = api.get(f"/api/customers/{cdp_id}/events").json()["items"]
    assert [e["message_id"] for e in events] == ["t1", "i1", "p1"]  # newest first
    assert events[0]["properties"] == {"revenue": 99.5}
    assert [e["message_id"] for e in api.get(f"/api/customers/{cdp_id}/events?type=track").json()["items"]] == ["t1"]
    assert [e["message_id"] for e in api.get(f"/api/customers/{cdp_id}/events?before=2026-01-01T10:00:30Z").json()["items"]] == ["p1"]
    page = api.get(f"/api/customers/{cdp_id}/events?limit=2").json()
    assert page["next_offset"] == 2 and len(api.get(f"/api/customers/{cdp_id}/events?limit=2&offset=2").json()["items"]) == 1
    assert api.get(f"/api/customers/{cdp_id}/events?since=not-a-date").status_code == 422


def test_create_records_an_identify_and_a_patch_is_an_operators_edit_not_customer_activity(api, ada, tenant_a):
    created = api.post("/api/customers", {"user_id": "carol", "email": "carol@example.com", "traits": {"plan": "free"}})
    assert created.status_code == 201
    cdp_id = created.json()["cdp_id"]
    patched = api.patch(f"/api/customers/{cdp_id}", {"set": {"plan": "team", "seats": 5}, "unset": ["email"]}).json()
    traits = {t["key"]: (t["value"], t["source"]) for t in patched["traits"]}
    assert traits == {"plan": ("team", "api"), "seats": (5, "api")}
    assert [e["type"] for e in api.get(f"/api/customers/{cdp_id}/events").json()["items"]] == ["identify"], "the edit is not an event"
    changes = api.get(f"/api/customers/{cdp_id}/changes").json()["items"]
    edits = sorted((c["key"], c["action"], c["value"], c["source"]) for c in changes if c["actor"])
    assert edits == [("email", "unset", None, "api"), ("plan", "set", "team", "api"), ("seats", "set", 5, "api")]
    assert {c["actor"] for c in changes if c["actor"]} == {AuditEntry.objects.filter(action="customer.traits").get().actor}
    assert AuditEntry.objects.filter(action="customer.traits", target=cdp_id).exists()
    assert api.post("/api/customers", {"traits": {"x": 1}}).status_code == 422
    assert api.patch(f"/api/customers/{cdp_id}", {"set": {"a": 1}, "unset": ["a"]}).status_code == 422


def test_consent_per_channel_and_purpose(api, ada):
    cdp_id = _ada_id(api)
    api.put(f"/api/customers/{cdp_id}/consent", {"channel": "email", "purpose": "marketing", "granted": True})
    profile = api.put(f"/api/customers/{cdp_id}/consent", {"channel": "Email", "purpose": "marketing", "granted": False}).json()
    assert [(c["channel"], c["purpose"], c["granted"], c["source"]) for c in profile["consents"]] == [("email", "marketing", False, "api")]
    assert api.put(f"/api/customers/{cdp_id}/consent", {"channel": "email"}).status_code == 422


def test_suppressed_customers_events_are_dropped_and_counted(api, ada, sdk):
    cdp_id = _ada_id(api)
    assert api.post(f"/api/customers/{cdp_id}/suppress").json()["suppressed"] is True
    result = sdk.post("/api/v1/batch", {"batch": [{"type": "track", "userId": "ada", "event": "Again", "messageId": "s1"},
                                                   {"type": "track", "userId": "bob", "event": "Fine", "messageId": "s2"}]}).json()
    assert (result["accepted"], result["suppressed"]) == (1, 1)
    assert sum(SuppressedIdentifier.objects.values_list("dropped_events", flat=True)) == 1
    api.post(f"/api/customers/{cdp_id}/unsuppress")
    assert sdk.post("/api/v1/track", {"userId": "ada", "event": "Back", "messageId": "s3"}).json()["accepted"] == 1


def test_erasure_removes_everything_and_replays_bring_nothing_back(api, ada, sdk, lakehouse, tenant_a):
    cdp_id = _ada_id(api)
    api.put(f"/api/customers/{cdp_id}/consent", {"channel": "sms", "purpose": "marketing", "granted": True})
    # A call about Ada accepted but not loaded yet when the erasure happens:
    sdk.post("/api/v1/track", {"userId": "ada", "event": "In flight", "messageId": "late"})
    erased = api.post(f"/api/customers/{cdp_id}/erase").json()
    assert erased["erased"] is True
    for name, statement in ALL_ROWS.items():
        assert lakehouse.execute(statement, {"tenant_id": tenant_a.slug, "cdp_id": cdp_id}).scalar() == 0, name
    assert api.get(f"/api/customers/{cdp_id}").status_code == 404
    # Replaying the original batch (new messageIds, as an SDK re-sending history would) brings nothing back.
    replay = {"batch": [{**call, "messageId": call["messageId"] + "-again"} for call in ada["batch"]]}
    assert sdk.post("/api/v1/batch", replay).json()["suppressed"] == 3
    load_inbox()
    assert api.get("/api/customers/lookup?type=user_id&value=ada").status_code == 404
    assert api.get("/api/customers/lookup?type=email&value=ada@example.com").status_code == 404
    # Erased identifiers are kept only as digests; bob is untouched.
    assert not SuppressedIdentifier.objects.filter(id_value__in=["ada", "anon-ada", "ada@example.com"]).exists()
    assert api.get("/api/customers/lookup?type=user_id&value=bob").status_code == 200
    audit = AuditEntry.objects.get(action="customer.erase")
    assert audit.target == cdp_id and "ada" not in json.dumps(audit.details)


def test_export_holds_profile_and_every_event(api, ada):
    cdp_id = _ada_id(api)
    export = api.get(f"/api/customers/{cdp_id}/export").json()
    assert export["cdp_id"] == cdp_id and len(export["events"]) == 3
    assert {t["key"] for t in export["traits"]} >= {"email", "plan"}
    assert {i["value"] for i in export["identities"]} == {"ada", "anon-ada", "ada@example.com"}



def test_a_customer_can_be_created_from_an_email_or_a_phone_alone(api, ada):
    from_email = api.post("/api/customers", {"email": "Grace@Example.com", "traits": {"plan": "free"}})
    assert from_email.status_code == 201, from_email.content
    again = api.post("/api/customers", {"email": "grace@example.com"})
    assert again.json()["cdp_id"] == from_email.json()["cdp_id"], "the same email names the same customer"
    by_email = api.get("/api/customers/lookup?type=email&value=grace@example.com").json()
    assert by_email["cdp_id"] == from_email.json()["cdp_id"]
    # An existing customer's email reaches that customer (the identity graph joins on it).
    known = api.post("/api/customers", {"email": "ada@example.com", "traits": {"tier": "gold"}})
    assert known.json()["cdp_id"] == _ada_id(api)
    assert api.post("/api/customers", {"phone": "+44 20 7946 0000"}).status_code == 201
    nothing = api.post("/api/customers", {"traits": {"plan": "x"}})
    assert nothing.status_code == 422 and "email, phone" in nothing.json()["detail"]


def test_a_customer_can_be_created_from_any_identifier_the_rules_know(api, tenant_a, api_as):
    admin = api_as(tenant_a, Role.ADMIN)
    rules = {k: v for k, v in admin.get("/api/identity/rules").json().items() if k != "defaults"}
    rules["custom"] = [{"name": "crm_id", "source": "trait:crm.id"}, {"name": "install_id", "source": "context:app.install"}]
    rules["priority"] = [*rules["priority"], "crm_id", "install_id"]
    saved = admin.put("/api/identity/rules", rules)
    assert saved.status_code == 202, saved.content
    for id_type, value in (("device_id", "dev-1"), ("crm_id", "C-42"), ("install_id", "inst-9")):
        created = api.post("/api/customers", {"identifiers": {id_type: value}})
        assert created.status_code == 201, created.content
        again = api.post("/api/customers", {"identifiers": {id_type: value}, "traits": {"plan": "pro"}})
        assert again.json()["cdp_id"] == created.json()["cdp_id"], f"the same {id_type} names the same customer"
        found = api.get(f"/api/customers/lookup?type={id_type}&value={value}")
        assert found.status_code == 200 and found.json()["cdp_id"] == created.json()["cdp_id"], id_type
    unknown = api.post("/api/customers", {"identifiers": {"loyalty_id": "L-1"}})
    assert unknown.status_code == 422 and "not an identifier type" in unknown.json()["detail"]
    assert "crm_id" in unknown.content.decode(), "the answer names the types that exist"
    assert api.post("/api/customers", {"identifiers": {"device_id": " "}}).status_code == 422
