"""Trait names are checked at the door on every path (a clear error by field), and a profile holding
names saved before (with "/", empty, very long) still renders and lets an editor remove them."""
from __future__ import annotations

import json

import pytest

from customers.tables import TRAITS
from customers.traits import trait_row
from tenancy.roles import Role
from tracking.loader import load_inbox
from tracking.services import ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def test_a_bad_trait_name_is_refused_by_field_and_the_batch_keeps_its_good_calls(tenant_a):
    calls = [{"type": "identify", "userId": "u1", "messageId": "ok", "traits": {"plan": "pro"}},
             {"type": "identify", "userId": "u1", "messageId": "empty", "traits": {"": "x"}},
             {"type": "identify", "userId": "u1", "messageId": "long", "traits": {"k" * 10_000: "x"}},
             {"type": "identify", "userId": "u1", "messageId": "tab", "traits": {"a\tb": "x"}}]
    result = ingest(tenant=tenant_a.ref, body=json.dumps({"batch": calls}).encode())
    assert result.accepted == 1 and {r.message_id for r in result.rejected} == {"empty", "long", "tab"}
    fields = {r.message_id: r.errors[0]["field"] for r in result.rejected}
    assert fields == {"empty": "batch[1].traits", "long": f"batch[2].traits.{'k' * 40}", "tab": "batch[3].traits.a\tb"}
    assert all("trait names are 1 to 128 characters" in r.errors[0]["message"] for r in result.rejected)


def test_the_api_refuses_a_bad_name_to_set(tenant_a, api_as):
    api = api_as(tenant_a, Role.EDITOR)
    cdp_id = api.post("/api/customers", {"user_id": "u1"}).json()["cdp_id"]
    answer = api.patch(f"/api/customers/{cdp_id}", {"set": {"k" * 200: 1}})
    assert answer.status_code == 422 and "128 characters" in answer.json()["errors"][0]["message"]
    assert api.post("/api/customers", {"user_id": "u2", "traits": {"": 1}}).status_code == 422


def test_old_bad_names_render_and_can_be_removed(tenant_a, sdk, console_as, lakehouse, api_as):
    sdk.post("/api/v1/identify", {"userId": "u1", "traits": {"plan": "pro"}})
    load_inbox()
    cdp_id = api_as(tenant_a, Role.VIEWER).get("/api/customers/lookup?type=user_id&value=u1").json()["cdp_id"]
    from datetime import UTC, datetime

    at = datetime(2026, 1, 1, tzinfo=UTC)
    lakehouse.upsert(TRAITS, [trait_row(tenant_a.slug, cdp_id, key, "old", at, "identify") for key in ("a/b", "", "x" * 300)])
    client = console_as(Role.EDITOR)
    page = client.get(f"/customers/{cdp_id}/")
    assert page.status_code == 200 and "a/b" in page.content.decode()
    for key in ("a/b", "", "x" * 300):
        assert client.post(f"/customers/{cdp_id}/traits/unset/", {"key": key}).status_code == 302
    left = {t["key"] for t in api_as(tenant_a, Role.VIEWER).get(f"/api/customers/{cdp_id}").json()["traits"]}
    assert left == {"plan"}
