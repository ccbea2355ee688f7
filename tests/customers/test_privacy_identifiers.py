"""Erasure and suppression cover every identifier type the rules extract, normalised as resolution
normalises it, and touch nobody else: identity's one `call_identifiers` decides for all of them."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from customers.models import SuppressedIdentifier
from identity.models import IdentitySettings
from identity.rules import CustomType, Rules
from lakehouse import get_engine
from lakehouse.schema import TABLES
from lakehouse.statements import Statement
from tenancy.roles import Role
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]

X = {"userId": "x-user", "anonymousId": "x-anon"}
X_TRAITS = {"email": " X.Person@Example.com ", "phone": "+1 (415) 555-0100", "crm_id": "CRM-7", "name": "X"}

# A new call carrying one of the erased customer's identifiers (and otherwise only fresh ones).
ONE_IDENTIFIER = {
    "user id": {"type": "track", "userId": "x-user", "event": "Back"},
    "anonymous id": {"type": "track", "anonymousId": "x-anon", "event": "Back"},
    "email, odd case and spaces": {"type": "identify", "anonymousId": "fresh-1", "traits": {"email": "  x.PERSON@example.COM "}},
    "phone, national format": {"type": "identify", "anonymousId": "fresh-2", "traits": {"phone": "(415) 555-0100"}},
    "phone, E.164": {"type": "identify", "anonymousId": "fresh-3", "traits": {"phone": "+14155550100"}},
    "phone, dotted": {"type": "identify", "anonymousId": "fresh-4", "traits": {"phone": "415.555.0100"}},
    "device id": {"type": "track", "anonymousId": "fresh-5", "event": "Back", "context": {"device": {"id": "x-device"}}},
    "custom type": {"type": "identify", "anonymousId": "fresh-6", "traits": {"crm_id": "CRM-7"}},
    "alias from the erased anonymous id": {"type": "alias", "previousId": "x-anon", "userId": "fresh-user-1"},
    "alias to the erased user id": {"type": "alias", "previousId": "fresh-anon-2", "userId": "x-user"},
    "alias from the erased user id": {"type": "alias", "previousId": "x-user", "userId": "fresh-user-3"},
}
LOOKUPS = [("user_id", "x-user"), ("anonymous_id", "x-anon"), ("email", "x.person@example.com"), ("phone", "+14155550100"),
           ("device_id", "x-device"), ("crm_id", "CRM-7")]


@pytest.fixture
def api(tenant_a, api_as):
    return api_as(tenant_a, Role.ADMIN)


@pytest.fixture
def x(tenant_a, sdk, api):
    """Customer X with one identifier of every type, and Y, who shares no identifier with X but
    has an anonymous id whose value is X's user id."""
    rules = Rules(custom=(CustomType(name="crm_id", source="trait:crm_id"),))
    IdentitySettings.objects.create(tenant_id=tenant_a.ref.id, rules=rules.as_dict())
    batch = [
        {**X, "type": "identify", "messageId": "x1", "traits": X_TRAITS, "context": {"device": {"id": "x-device"}},
         "timestamp": "2026-01-01T10:00:00Z"},
        {**X, "type": "track", "messageId": "x2", "event": "Order Completed", "timestamp": "2026-01-02T10:00:00Z"},
        {"type": "identify", "userId": "y-user", "anonymousId": "x-user", "messageId": "y1", "traits": {"name": "Y"},
         "timestamp": "2026-01-03T10:00:00Z"},
    ]
    assert sdk.post("/api/v1/batch", {"batch": batch}).json()["accepted"] == 3
    load_inbox()
    found = {kind: api.get(f"/api/identity/resolve?type={kind}&value={_q(value)}").json()["cdp_id"] for kind, value in LOOKUPS}
    assert len(set(found.values())) == 1, found
    y = api.get("/api/identity/resolve?type=user_id&value=y-user").json()["cdp_id"]
    assert y != found["user_id"]
    return found["user_id"], y


def _q(value: str) -> str:
    return quote(value, safe="")


@pytest.mark.parametrize("action", ["erase", "suppress"])
def test_a_new_call_naming_any_one_identifier_is_dropped_and_counted(api, sdk, x, action):
    cdp_id, _ = x
    assert api.post(f"/api/customers/{cdp_id}/{action}").status_code == 200
    for name, call in ONE_IDENTIFIER.items():
        answer = sdk.post("/api/v1/batch", {"batch": [{**call, "messageId": f"again-{name}"}]}).json()
        assert answer["suppressed"] == 1 and answer["accepted"] == 0, name
    assert sum(SuppressedIdentifier.objects.values_list("dropped_events", flat=True)) == len(ONE_IDENTIFIER)
    load_inbox()
    for kind, value in LOOKUPS:
        answer = api.get(f"/api/identity/resolve?type={kind}&value={_q(value)}")
        if action == "erase":
            assert answer.status_code == 404, (kind, answer.json())
        else:  # a suppressed customer stays, receiving nothing new
            assert answer.json()["cdp_id"] == cdp_id, kind
    for fresh in ("fresh-1", "fresh-2", "fresh-5", "fresh-user-1", "fresh-user-3"):
        kind = "user_id" if fresh.startswith("fresh-user") else "anonymous_id"
        assert api.get(f"/api/identity/resolve?type={kind}&value={fresh}").status_code == 404, fresh


@pytest.mark.parametrize("action", ["erase", "suppress"])
def test_calls_accepted_before_the_erasure_are_dropped_when_they_load(api, sdk, x, action, tenant_a):
    cdp_id, _ = x
    calls = [{**call, "messageId": f"early-{name}"} for name, call in ONE_IDENTIFIER.items()]
    assert sdk.post("/api/v1/batch", {"batch": calls}).json()["accepted"] == len(calls)
    assert api.post(f"/api/customers/{cdp_id}/{action}").status_code == 200
    load_inbox()
    count = Statement("test.privacy.events", "SELECT COUNT(*) FROM {events} WHERE tenant_id = :tenant_id AND message_id LIKE 'early-%'")
    assert get_engine().execute(count, {"tenant_id": tenant_a.slug}).scalar() == 0


def test_erasing_one_customer_leaves_another_whose_identifier_of_another_type_has_the_same_value(api, x):
    cdp_id, y = x
    before = api.get(f"/api/identity/customers/{y}/graph").json()
    assert ("anonymous_id", "x-user") in {(n["type"], n["value"]) for n in before["nodes"]}
    assert api.post(f"/api/customers/{cdp_id}/erase").status_code == 200
    after = api.get(f"/api/identity/customers/{y}/graph").json()
    assert after["nodes"] == before["nodes"] and after["edges"] == before["edges"]
    assert api.post("/api/identity/runs", {}).status_code in (201, 202)
    rebuilt = api.get("/api/identity/resolve?type=anonymous_id&value=x-user").json()
    assert rebuilt["cdp_id"] == y, "the rebuild keeps Y whole: its edge was not erased with X's user id"
    assert {t["key"]: t["value"] for t in api.get(f"/api/customers/{y}").json()["traits"]} == {"name": "Y"}


def test_erasure_deletes_from_every_table_that_declares_personal_data(api, x, tenant_a):
    cdp_id, y = x
    api.patch(f"/api/customers/{cdp_id}", {"set": {"tier": "gold"}})  # the profile change log holds X too
    api.put(f"/api/customers/{cdp_id}/consent", {"channel": "email", "purpose": "marketing", "granted": True})
    erased = api.post(f"/api/customers/{cdp_id}/erase").json()
    personal = TABLES.personal()
    assert sorted(erased["tables"]) == sorted(t.name for t in personal)
    engine = get_engine()
    for table in personal:
        columns = ", ".join(table.column_names)
        rows = engine.execute(Statement(f"test.privacy.{table.name}", f"SELECT {columns} FROM {{{table.name}}} WHERE tenant_id = :tenant_id"),
                              {"tenant_id": tenant_a.slug}).dicts()
        for row in rows:
            text = repr(sorted(row.items()))
            assert cdp_id not in text, (table.name, row)
            for kind, value in LOOKUPS:
                if kind != "user_id":  # Y's anonymous id has the value of X's user id, and stays
                    assert value not in text, (table.name, kind, row)


def test_every_table_says_whether_it_holds_personal_data():
    """A table that does not declare it is refused, so erasure cannot miss a new table."""
    from lakehouse.schema import Column, Table, TableRegistry

    with pytest.raises(ValueError, match="personal"):
        TableRegistry().register(Table(name="x", columns=(Column("tenant_id", "string"),), key=("tenant_id",), comment=""))
    assert all(table.personal is None or table.personal.columns for table in TABLES)
    assert {t.name for t in TABLES.personal()} >= {"events", "traits", "identities", "consents", "identity_edges", "customer_ids",
                                                    "identity_merges", "identity_conflicts", "profile_changes"}


def test_lookup_by_every_identifier_type_agrees_with_identity_resolve(api, x):
    cdp_id, _ = x
    asked = [("user_id", " x-user "), ("anonymous_id", "x-anon"), ("email", " X.PERSON@example.com"), ("phone", "(415) 555-0100"),
             ("phone", "415.555.0100"), ("phone", "+1 415 555 0100"), ("device_id", "x-device"), ("crm_id", "CRM-7")]
    for kind, value in asked:
        looked_up = api.get(f"/api/customers/lookup?type={kind}&value={_q(value)}")
        resolved = api.get(f"/api/identity/resolve?type={kind}&value={_q(value)}")
        assert looked_up.status_code == resolved.status_code == 200, (kind, value, looked_up.json())
        assert looked_up.json()["cdp_id"] == resolved.json()["cdp_id"] == cdp_id, (kind, value)
    assert api.get("/api/customers/lookup?type=phone&value=not-a-phone").status_code == 404
    assert api.get("/api/identity/resolve?type=phone&value=not-a-phone").status_code == 404
