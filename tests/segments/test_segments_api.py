"""Segments through /api/segments: validated definitions (422 with the JSON path), versions,
preview, refresh with entries and exits, members now and at a past time, history, cycles and
segments in use refused."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from segments import selectors, services
from tenancy.roles import Role
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]
PRO = {"type": "trait", "key": "plan", "op": "equals", "value": "pro"}


@pytest.fixture
def api(tenant_a, api_as):
    return api_as(tenant_a, Role.EDITOR)


@pytest.fixture
def people(sdk):
    calls = [{"type": "identify", "userId": f"u{n}", "traits": {"plan": "pro" if n % 2 else "free", "score": n * 10},
              "messageId": f"i{n}", "timestamp": "2026-11-01T10:00:00Z"} for n in range(6)]
    calls += [{"type": "track", "userId": "u1", "event": "Order Completed", "properties": {"revenue": 120}, "messageId": f"o{n}",
               "timestamp": "2026-11-02T10:00:00Z"} for n in range(2)]
    assert sdk.post("/api/v1/batch", {"batch": calls}).status_code == 200
    load_inbox()


def _ids(api, user_ids):
    return sorted(api.get(f"/api/customers/lookup?type=user_id&value={u}").json()["cdp_id"] for u in user_ids)


def test_an_invalid_definition_is_a_422_naming_the_bad_condition(api):
    bad = api.post("/api/segments", {"name": "x", "definition": {"all": [PRO, {"type": "trait", "key": "score", "op": "gt", "value": "lots"}]}})
    assert bad.status_code == 422
    assert any(e["field"] == "definition.all[1].value" for e in bad.json()["errors"]), bad.json()
    unknown = api.post("/api/segments", {"name": "x", "definition": {"type": "weather", "op": "sunny"}})
    assert unknown.status_code == 422
    prop = api.post("/api/segments", {"name": "x", "definition": {"type": "event", "event": "A", "where": [{"property": "a'; DROP", "op": "exists"}]}})
    assert prop.status_code == 422 and any("where[0].property" in e["field"] for e in prop.json()["errors"])


def test_preview_refresh_entries_exits_and_members_at_a_past_time(api, people, tenant_a):
    preview = api.post("/api/segments/preview", {"definition": PRO})
    assert preview.status_code == 200 and preview.json()["members"] == 3 and len(preview.json()["sample"]) == 3
    created = api.post("/api/segments", {"name": "Pro", "definition": PRO})
    assert created.status_code == 201 and created.json()["version"] == 1
    sid = created.json()["id"]
    first = datetime(2026, 11, 10, tzinfo=UTC)
    run = services.segment_refresh(tenant=tenant_a.ref, segment_id=sid, trigger="test", now=first)
    assert (run.state, run.members, run.entered, run.exited) == ("succeeded", 3, 3, 0)
    assert sorted(m["cdp_id"] for m in api.get(f"/api/segments/{sid}/members").json()["items"]) == _ids(api, ["u1", "u3", "u5"])

    # u1 moves to free, u2 to pro: one exit, one entry.
    sdk_calls = [{"type": "identify", "userId": "u1", "traits": {"plan": "free"}, "messageId": "c1", "timestamp": "2026-11-11T10:00:00Z"},
                 {"type": "identify", "userId": "u2", "traits": {"plan": "pro"}, "messageId": "c2", "timestamp": "2026-11-11T10:00:00Z"}]
    from tests.conftest import ApiClient
    ApiClient.for_write_key(tenant_a.write_key).post("/api/v1/batch", {"batch": sdk_calls})
    load_inbox()
    second = first + timedelta(days=2)
    run = services.segment_refresh(tenant=tenant_a.ref, segment_id=sid, trigger="test", now=second)
    assert (run.members, run.entered, run.exited) == (3, 1, 1)
    now_members = sorted(m["cdp_id"] for m in api.get(f"/api/segments/{sid}/members").json()["items"])
    assert now_members == _ids(api, ["u2", "u3", "u5"])
    before = api.get(f"/api/segments/{sid}/members?at={(first + timedelta(days=1)).isoformat().replace('+00:00', 'Z')}")
    assert sorted(m["cdp_id"] for m in before.json()["items"]) == _ids(api, ["u1", "u3", "u5"]), "members at a past time, from the log"
    assert api.get(f"/api/segments/{sid}/members?at=2026-11-01T00:00:00Z").json()["items"] == [], "before the first refresh: nobody"
    history = selectors.segment_history(tenant=tenant_a.ref, segment_id=sid, days=5, now=second)
    assert [(h.day, h.entered, h.exited, h.members) for h in history[-3:]] == [
        ("2026-11-10", 3, 0, 3), ("2026-11-11", 0, 0, 3), ("2026-11-12", 1, 1, 3)]
    changes = selectors.membership_changes_since(tenant=tenant_a.ref, after=(datetime(1970, 1, 1, tzinfo=UTC), ""))
    assert [c["change"] for c in changes].count("entered") == 4 and [c["change"] for c in changes].count("exited") == 1
    queued = api.post(f"/api/segments/{sid}/refresh")
    assert queued.status_code == 202 and queued.json()["state"] in ("queued", "succeeded"), "queued (tests run tasks at once)"
    runs = api.get(f"/api/segments/{sid}/runs").json()
    assert runs[0]["id"] == queued.json()["id"] and runs[0]["state"] == "succeeded" and runs[0]["members"] == 3 and len(runs) == 3


def test_versions_cycles_and_segments_in_use(api, tenant_a, people):
    a = api.post("/api/segments", {"name": "A", "definition": PRO}).json()
    b = api.post("/api/segments", {"name": "B", "definition": {"all": [{"type": "segment", "segment_id": a["id"]},
                                                                       {"type": "identifier", "id_type": "user_id"}]}}).json()
    cycle = api.patch(f"/api/segments/{a['id']}", {"definition": {"type": "segment", "segment_id": b["id"]}})
    assert cycle.status_code == 422 and "A → B → A" in cycle.json()["detail"]
    itself = api.patch(f"/api/segments/{a['id']}", {"definition": {"not": {"type": "segment", "segment_id": a["id"]}}})
    assert itself.status_code == 422
    changed = api.patch(f"/api/segments/{a['id']}", {"definition": {"type": "trait", "key": "score", "op": "gte", "value": 20}})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert api.patch(f"/api/segments/{a['id']}", {"description": "high scores"}).json()["version"] == 2, "only a new definition is a version"
    in_use = api.delete(f"/api/segments/{a['id']}")
    assert in_use.status_code == 409 and "used by B" in in_use.json()["detail"]
    assert api.post("/api/segments", {"name": "A", "definition": PRO}).status_code == 409, "names are unique per tenant"
    assert api.delete(f"/api/segments/{b['id']}").status_code == 204 and api.delete(f"/api/segments/{a['id']}").status_code == 204
    assert api.get("/api/segments").json()["total"] == 0


def test_the_schedule_refreshes_what_is_due_dependencies_first(tenant_a, people):
    a = services.segment_create(tenant=tenant_a.ref, name="A", definition=PRO, actor="test")
    b = services.segment_create(tenant=tenant_a.ref, name="B", definition={"type": "segment", "segment_id": a.id}, actor="test")
    now = datetime(2026, 11, 20, tzinfo=UTC)
    assert services.segments_refresh_due(now=now) == {"refreshed": 2, "failed": 0}
    assert selectors.segment_get(tenant=tenant_a.ref, segment_id=b.id).members == 3, "A was refreshed before B, which reads it"
    assert services.segments_refresh_due(now=now + timedelta(minutes=1)) == {"refreshed": 0, "failed": 0}, "not due yet"
    assert services.segments_refresh_due(now=now + timedelta(minutes=5))["refreshed"] == 2


def test_viewers_read_and_editors_change(tenant_a, api_as):
    viewer = api_as(tenant_a, Role.VIEWER)
    assert viewer.get("/api/segments").status_code == 200
    assert viewer.post("/api/segments", {"name": "x", "definition": PRO}).status_code == 403


def test_the_definition_schema_is_published(api):
    document = api.get("/api/openapi.json").json()
    components = document["components"]["schemas"]
    assert "SegmentDefinition" in components and {"TraitCondition", "EventCondition", "AllGroup"} <= set(components)
    assert "discriminator" in str(components["SegmentDefinition"]) or "anyOf" in components["SegmentDefinition"]


def test_manual_lists_by_api_csv_and_merges(api, people, tenant_a):
    created = api.post("/api/segments", {"name": "VIP list", "kind": "manual"})
    assert created.status_code == 201 and created.json()["kind"] == "manual" and created.json()["definition"] == {}
    sid = created.json()["id"]
    u1, u3 = _ids(api, ["u1"])[0], _ids(api, ["u3"])[0]
    edit = api.post(f"/api/segments/{sid}/members", {"add": [{"cdp_id": u1}, {"type": "user_id", "value": "u2"},
                                                            {"type": "email", "value": "nobody@example.com"}]})
    assert edit.status_code == 200, edit.json()
    assert edit.json() | {"unknown": None} == {"added": 2, "removed": 0, "members": 2, "unknown": None, "unknown_count": 1}
    assert edit.json()["unknown"] == ["email:nobody@example.com"]
    bad = api.post(f"/api/segments/{sid}/members", {"add": [{"type": "email"}]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "add[0]"

    # A CSV: header names the columns; each row its first non-empty cell.
    csv_text = "user_id,email\nu3,\n,unknown@example.com\nu1,\n"
    imported = api.client.post(f"/api/segments/{sid}/members/import?mode=replace", data=csv_text, content_type="text/csv", headers=api.headers)
    assert imported.status_code == 200, imported.content
    assert (imported.json()["added"], imported.json()["removed"], imported.json()["members"]) == (1, 1, 2)
    members = sorted(m["cdp_id"] for m in api.get(f"/api/segments/{sid}/members").json()["items"])
    assert members == sorted([u1, u3])
    no_header = api.client.post(f"/api/segments/{sid}/members/import", data="u1 u2\n", content_type="text/csv", headers=api.headers)
    assert no_header.status_code == 422

    # Rules segments are not edited by hand, and a manual list has no definition.
    rules = api.post("/api/segments", {"name": "Pro", "definition": PRO}).json()["id"]
    assert api.post(f"/api/segments/{rules}/members", {"add": [{"cdp_id": u1}]}).status_code == 422
    assert api.patch(f"/api/segments/{sid}", {"definition": PRO}).status_code == 422
    assert api.post("/api/segments", {"name": "No rules"}).status_code == 422

    # The customer's segments, and the list as CSV.
    services.segment_refresh(tenant=tenant_a.ref, segment_id=rules, trigger="test")
    mine = api.get(f"/api/customers/{u1}/segments").json()
    assert {s["name"] for s in mine} == {"VIP list", "Pro"} and all(s["entered_at"].endswith("Z") for s in mine)
    exported = api.client.get(f"/api/segments/{sid}/members.csv", headers=api.headers)
    lines = b"".join(exported.streaming_content).decode().splitlines()
    assert lines[0] == "cdp_id,entered_at,user_id,email" and sorted(line.split(",")[2] for line in lines[1:]) == ["u1", "u3"]


def test_a_manual_list_follows_merges(api, people, sdk, tenant_a):
    sid = api.post("/api/segments", {"name": "List", "kind": "manual"}).json()["id"]
    u4 = _ids(api, ["u4"])[0]
    api.post(f"/api/segments/{sid}/members", {"add": [{"cdp_id": u4}]})
    # u4's anonymous visitor and u5 turn out to be one person: u4 merges with u5.
    calls = [{"type": "identify", "userId": "u4", "traits": {"email": "same@example.com"}, "messageId": "m1", "timestamp": "2026-11-03T10:00:00Z"},
             {"type": "identify", "userId": "u5", "traits": {"email": "same@example.com"}, "messageId": "m2", "timestamp": "2026-11-03T10:00:00Z"}]
    assert sdk.post("/api/v1/batch", {"batch": calls}).status_code == 200
    load_inbox()
    survivor = _ids(api, ["u4"])[0]
    run = services.segment_refresh(tenant=tenant_a.ref, segment_id=sid, trigger="test")
    assert run.state == "succeeded"
    members = [m["cdp_id"] for m in api.get(f"/api/segments/{sid}/members").json()["items"]]
    assert members == [survivor]


def test_explain_names_the_values_each_condition_was_decided_on(api, people, tenant_a):
    definition = {"all": [PRO, {"type": "event", "event": "Order Completed", "count": {"op": "gte", "value": 2}},
                          {"not": {"type": "bucket", "salt": "holdout", "to_percent": 0.01}}]}
    sid = api.post("/api/segments", {"name": "Buyers", "definition": definition}).json()["id"]
    services.segment_refresh(tenant=tenant_a.ref, segment_id=sid, trigger="test")
    u1, u2 = _ids(api, ["u1"])[0], _ids(api, ["u2"])[0]
    why = api.get(f"/api/segments/{sid}/explain/{u1}").json()
    assert why["holds"] is True and why["member"] is True and why["member_since"].endswith("Z")
    pro, orders, holdout = why["tree"]["children"]
    assert pro["holds"] and pro["facts"][0]["value"] == "pro" and pro["path"] == "$.all[0]"
    assert orders["facts"][0]["calls"] == 2 and orders["facts"][0]["last_at"] == "2026-11-02T10:00:00Z"
    assert holdout["group"] == "not" and holdout["children"][0]["facts"][0]["fact"] == "bucket"
    why_not = api.get(f"/api/segments/{sid}/explain/{u2}").json()
    assert why_not["holds"] is False and why_not["member"] is False
    assert [c["holds"] for c in why_not["tree"]["children"]] == [False, False, True]
    assert why_not["tree"]["children"][1]["facts"][0]["calls"] == 0
    nobody = api.get(f"/api/segments/{sid}/explain/cdp_nobody")
    assert nobody.status_code == 404 and nobody.json()["detail"] == "No customer cdp_nobody in this tenant."


def test_manage_py_fills_a_manual_list_from_a_file(api, people, tenant_a, tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    sid = api.post("/api/segments", {"name": "Imported", "kind": "manual"}).json()["id"]
    path = tmp_path / "list.csv"
    path.write_text("email,user_id\n,u1\n,u2\nghost@example.com,\n", encoding="utf-8")
    out = StringIO()
    call_command("cdp_segment", "add", str(sid), str(path), tenant=tenant_a.slug, stdout=out)
    assert "2 added, 0 removed: 2 members." in out.getvalue() and "1 name no customer" in out.getvalue()
    listed = StringIO()
    call_command("cdp_segment", "list", tenant=tenant_a.slug, stdout=listed)
    assert "Imported" in listed.getvalue() and "manual" in listed.getvalue()
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("cdp_segment", "add", str(sid), str(tmp_path / "missing.csv"), tenant=tenant_a.slug)
    with pytest.raises(CommandError, match="No segment"):
        call_command("cdp_segment", "refresh", "999", tenant=tenant_a.slug)
    with pytest.raises(CommandError, match="members.csv"):  # no tables for other tools on SQLite
        call_command("cdp_segment", "export", str(sid), "imported", tenant=tenant_a.slug)


def test_exports_to_a_table_need_an_engine_with_tables(api, tenant_a, api_as, tenant_b):
    sid = api.post("/api/segments", {"name": "Pro", "definition": PRO}).json()["id"]
    refused = api.post(f"/api/segments/{sid}/exports", {"name": "pro_customers"})
    assert refused.status_code == 422, refused.content
    assert "members.csv" in refused.json()["detail"] and refused.json()["errors"][0]["field"] == "name"
    assert api.get(f"/api/segments/{sid}/exports").json() == []
    assert api_as(tenant_b, Role.EDITOR).post(f"/api/segments/{sid}/exports", {"name": "x"}).status_code == 404
    assert api_as(tenant_a, Role.VIEWER).post(f"/api/segments/{sid}/exports", {"name": "x"}).status_code == 403


def test_the_segment_page_offers_no_table_export_on_an_embedded_engine(api, console_as):
    sid = api.post("/api/segments", {"name": "Pro", "definition": PRO}).json()["id"]
    page = console_as(Role.EDITOR).get(f"/segments/{sid}/").content.decode()
    assert "Export CSV" in page and "Export to a table" not in page
    refused = console_as(Role.EDITOR).post(f"/segments/{sid}/table/", {"name": "pro"}, follow=True).content.decode()
    assert "members.csv" in refused  # said where it happened, with what to do instead
