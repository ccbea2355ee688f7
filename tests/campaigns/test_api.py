"""/api/campaigns: problems that name the field, drafts only editable, roles, preview, test sends,
recipients, deliveries and the report."""
from __future__ import annotations

import pytest

from campaigns.services.sending import campaigns_tick
from messaging.services.drain import drain_once
from tenancy.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def test_a_bad_definition_is_refused_naming_each_field(admin, definition):
    bad = definition(variants=[{"key": "A", "template_id": 999_999}, {"key": "holdout", "template_id": 999_999}], topic="nope",
                     audience={"segments": [999_999]})
    answer = admin.post("/api/campaigns", {"name": "Broken", "definition": bad})
    assert answer.status_code == 422 and answer["Content-Type"] == "application/problem+json"
    fields = {e["field"] for e in answer.json()["errors"]}
    assert "definition.variants.1.key" in fields
    schema_fixed = definition(variants=[{"key": "A", "template_id": 999_999}], topic="nope", audience={"segments": [999_999]})
    fields = {e["field"] for e in admin.post("/api/campaigns", {"name": "Broken", "definition": schema_fixed}).json()["errors"]}
    assert fields == {"definition.audience.segments", "definition.variants.0.template_id", "definition.topic"}


def test_the_lifecycle_over_the_api(tenant_a, admin, api_as, definition, smtp_server):
    editor = api_as(tenant_a, Role.EDITOR)
    made = editor.post("/api/campaigns", {"name": "Winter", "definition": definition()})
    assert made.status_code == 201 and made.json()["status"] == "draft"
    campaign_id = made.json()["id"]
    preview = editor.post("/api/campaigns/preview", {"definition": definition()}).json()
    assert preview["reach"]["audience"] == 40 and preview["reach"]["reachable"] + preview["reach"]["holdout"] == 40
    assert {s["variant"] for s in preview["samples"]} == {"A", "B"} and preview["samples"][0]["parts"]["subject"].startswith(("A", "B"))
    assert preview["for_customer"] == {} and [t["variant"] for t in preview["templates"]] == ["A", "B"]
    one = editor.post("/api/campaigns/preview", {"definition": definition(), "customer": "u05@example.com"}).json()["for_customer"]
    assert one["in_audience"] and one["group"] in ("A", "B", "holdout") and [s["variant"] for s in one["samples"]] == ["A", "B"]
    nobody = editor.post("/api/campaigns/preview", {"definition": definition(), "customer": "nobody@example.com"})
    assert nobody.status_code == 422 and nobody.json()["errors"][0]["field"] == "customer"
    assert editor.patch(f"/api/campaigns/{campaign_id}", {"name": "Winter sale"}).json()["name"] == "Winter sale"
    test = editor.post(f"/api/campaigns/{campaign_id}/test-send", {"addresses": ["qa@shop.example.com"]})
    assert test.status_code == 200 and [q["variant"] for q in test.json()["queued"]] == ["A", "B"]
    assert sorted(m["Subject"] for m in smtp_server.inbox.messages) == ["A for", "B for"]  # sent at once, outside the report
    assert editor.put("/api/campaigns/policy", {"approval_threshold": 5}).status_code == 403
    assert admin.put("/api/campaigns/policy", {"approval_threshold": 5}).json()["approval_threshold"] == 5
    waiting = editor.post(f"/api/campaigns/{campaign_id}/schedule").json()
    assert waiting["status"] == "awaiting_approval"
    assert editor.post(f"/api/campaigns/{campaign_id}/approve").status_code == 403
    approved = admin.post(f"/api/campaigns/{campaign_id}/approve").json()
    assert approved["status"] == "scheduled" and approved["approved_by"]
    assert editor.patch(f"/api/campaigns/{campaign_id}", {"name": "Again"}).status_code == 409
    campaigns_tick()
    drain_once()
    recipients = editor.get(f"/api/campaigns/{campaign_id}/recipients?limit=100").json()
    assert recipients["total"] == 40 and {r["status"] for r in recipients["items"]} <= {"queued", "none"}
    held = editor.get(f"/api/campaigns/{campaign_id}/recipients?group=holdout").json()["items"]
    assert all(r["status"] == "none" for r in held)
    deliveries = editor.get(f"/api/campaigns/{campaign_id}/deliveries?limit=100").json()
    assert deliveries["total"] == 40 - len(held) and {d["status"] for d in deliveries["items"]} == {"sent"}
    report = editor.get(f"/api/campaigns/{campaign_id}/report").json()
    by = {g["group"]: g for g in report["groups"]}
    assert by["A"]["sent"] + by["B"]["sent"] == 40 - len(held) and "seeds" not in by
    got = editor.get(f"/api/campaigns/{campaign_id}").json()
    assert got["status"] == "completed" and got["runs"][0]["counts"]["queued"] == 40 - len(held)
    copy = editor.post(f"/api/campaigns/{campaign_id}/duplicate", {})
    assert copy.status_code == 201 and copy.json()["name"] == "Winter sale (copy)"
    assert editor.post(f"/api/campaigns/{campaign_id}/pause").status_code == 409


def test_an_unknown_campaign_is_404_and_another_tenants_too(tenant_a, tenant_b, api_as, admin, definition):
    campaign_id = admin.post("/api/campaigns", {"name": "Mine", "definition": definition()}).json()["id"]
    other = api_as(tenant_b, Role.ADMIN)
    assert other.get(f"/api/campaigns/{campaign_id}").status_code == 404
    assert other.post(f"/api/campaigns/{campaign_id}/schedule").status_code == 404
    assert admin.get("/api/campaigns/999999").status_code == 404
