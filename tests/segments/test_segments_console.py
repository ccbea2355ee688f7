"""The console's segments without JavaScript: the builder's steps, the live count, a segment's page,
a manual list's upload, why a customer is in it, and the profile's card."""
from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from segments import services
from segments.models import Segment
from tenancy.roles import Role
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


@pytest.fixture
def shop(sdk):
    calls = [{"type": "identify", "userId": f"u{n}", "traits": {"plan": "pro" if n % 2 else "free", "email": f"p{n}@example.com"},
              "messageId": f"i{n}", "timestamp": "2026-11-01T10:00:00Z"} for n in range(6)]
    calls += [{"type": "track", "userId": "u1", "event": "Order Completed", "properties": {"revenue": 120, "coupon": {"code": "X"}},
               "messageId": "o1", "timestamp": "2026-11-02T10:00:00Z"}]
    assert sdk.post("/api/v1/batch", {"batch": calls}).status_code == 200
    load_inbox()


def _post_builder(client, definition, op, **extra):
    return client.post("/segments/builder/", {"definition": json.dumps(definition), "op": op, **extra}, HTTP_HX_REQUEST="true")


def _definition(html: str) -> dict:
    import html as h
    import re

    text = re.search(r'<textarea name="definition"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    return json.loads(h.unescape(text)) if text.strip() else {}


def test_the_builder_adds_negates_and_removes_conditions_with_what_the_tenant_sent(console_as, shop):
    client = console_as(Role.EDITOR)
    page = client.get("/segments/new/").content.decode()
    assert '<option value="Order Completed">' in page and '<option value="plan">' in page  # offered from the tenant's data
    step = _post_builder(client, {}, "add|$", condition="event", term="Order Completed")
    first = _definition(step.content.decode())
    assert first == {"type": "event", "event": "Order Completed", "within_days": 30, "count": {"op": "gte", "value": 1}}
    both = _definition(_post_builder(client, first, "add|$", condition="trait", term="plan").content.decode())
    assert both == {"all": [first, {"type": "trait", "key": "plan", "op": "exists"}]}
    negated = _definition(_post_builder(client, both, "negate|$.all[1]").content.decode())
    assert negated["all"][1] == {"not": {"type": "trait", "key": "plan", "op": "exists"}}
    assert "not" in _post_builder(client, negated, "negate|$.all[1]").content.decode()
    removed = _definition(_post_builder(client, negated, "remove|$.all[0]").content.decode())
    assert removed == {"all": [{"not": {"type": "trait", "key": "plan", "op": "exists"}}]}
    bad = client.post("/segments/builder/", {"definition": "{not json", "op": "add|$"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 200 and "not valid" in bad.content.decode()


def test_the_live_count_and_saving_a_segment(console_as, shop):
    client = console_as(Role.EDITOR)
    pro = {"type": "trait", "key": "plan", "op": "equals", "value": "pro"}
    count = client.post("/segments/preview/", {"definition": json.dumps(pro)}).content.decode()
    assert "<strong>3</strong> customers now" in count
    invalid = client.post("/segments/preview/", {"definition": json.dumps({"type": "trait", "key": "score", "op": "gt", "value": "x"})})
    assert "definition.value" in invalid.content.decode()
    refused = client.post("/segments/new/", {"name": "Pro", "refresh_minutes": 5, "definition": json.dumps({"type": "trait", "op": "gt"})})
    assert refused.status_code == 422 and "key" in refused.content.decode()
    saved = client.post("/segments/new/", {"name": "Pro <b>", "refresh_minutes": 5, "definition": json.dumps(pro)})
    assert saved.status_code == 302
    segment = Segment.objects.get(name="Pro <b>")
    detail = client.get(saved["Location"]).content.decode()
    assert "Pro &lt;b&gt;" in detail and "Pro <b>" not in detail  # the name is the user's text: escaped
    assert "plan is “pro”" in detail and "<svg" in detail
    assert segment.members == 3  # the queued refresh ran (tasks run inline in tests)
    assert client.get("/segments/").status_code == 200 and "Pro &lt;b&gt;" in client.get("/segments/").content.decode()


def test_a_segment_page_finds_a_member_and_explains_why(console_as, shop, tenant_a):
    client = console_as(Role.VIEWER)
    info = services.segment_create(tenant=tenant_a.ref, name="Buyers", actor="test", definition={"all": [
        {"type": "event", "event": "Order Completed"}, {"type": "trait", "key": "plan", "op": "equals", "value": "pro"}]})
    services.segment_refresh(tenant=tenant_a.ref, segment_id=info.id, trigger="test")
    page = client.get(f"/segments/{info.id}/?q=p1@example.com").content.decode()
    assert "is a member since" in page
    cdp_id = re.search(r'/segments/\d+/why/([^/]+)/', page).group(1)
    why = client.get(f"/segments/{info.id}/why/{cdp_id}/").content.decode()
    assert "Yes, now" in why and "matching calls" in why and "✓ holds" in why
    card = client.get(f"/segments/customer/{cdp_id}/").content.decode()
    assert "Buyers" in card and "why" in card
    profile = client.get(f"/customers/{cdp_id}/").content.decode()
    assert f"/segments/customer/{cdp_id}/" in profile
    assert client.post(f"/segments/{info.id}/refresh/").status_code == 403  # viewers read only


def test_a_manual_list_is_uploaded_and_exported(console_as, shop):
    client = console_as(Role.EDITOR)
    created = client.post("/segments/new/", {"name": "VIP", "kind": "manual", "refresh_minutes": 5})
    assert created.status_code == 302
    sid = Segment.objects.get(name="VIP").id
    upload = SimpleUploadedFile("vip.csv", b"email\np1@example.com\np2@example.com\nnobody@example.com\n", content_type="text/csv")
    done = client.post(f"/segments/{sid}/upload/", {"file": upload, "mode": "add"}, follow=True).content.decode()
    assert "2 added, 0 removed: 2 members. 1 name nobody here" in done
    exported = b"".join(client.get(f"/segments/{sid}/members.csv").streaming_content).decode().splitlines()
    assert exported[0] == "cdp_id,entered_at,user_id,email" and len(exported) == 3
    latin = SimpleUploadedFile("bad.csv", "email\nzoë@example.com\n".encode("latin-1"), content_type="text/csv")
    assert "not UTF-8" in client.post(f"/segments/{sid}/upload/", {"file": latin, "mode": "add"}, follow=True).content.decode()
