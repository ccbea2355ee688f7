"""The console's campaigns: the editor is a form (no JSON) whose live panel shows the reachable
count, a draft is scheduled from its page, the progress widget polls while it sends, the report
shows its chart and table, and user text stays text."""
from __future__ import annotations

import pytest

from campaigns.models import Campaign
from campaigns.services.sending import campaigns_tick
from tenancy.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


@pytest.fixture
def console(console_as):
    return console_as(Role.ADMIN)


def _form(crowd, mail, **changes):
    data = {"name": "Winter <b>sale</b>", "segments": [crowd["segment"]], "channel_id": mail["channel"], "category": "marketing",
            "topic": "news", "template_a": mail["A"], "template_b": mail["B"], "holdout_percent": "10", "schedule": "now",
            "goal_event": "Order Completed", "goal_days": "3"}
    return {**data, **changes}


def test_the_editor_shows_who_it_reaches_then_saves_schedules_and_reports(console, crowd, mail):
    reach = console.post("/campaigns/reach/", _form(crowd, mail))
    assert reach.status_code == 200 and b"reachable of 40 in the segments" in reach.content and b"Variant A" in reach.content
    opened = console.post("/campaigns/reach/", {"name": "", "holdout_percent": "5"}).content.decode()  # the editor as it opens
    assert "Choose an audience, a channel and a template" in opened and "required" not in opened
    wrong = console.post("/campaigns/reach/", _form(crowd, mail, topic="nope"))
    assert b"a email subscription topic of this tenant" in wrong.content
    saved = console.post("/campaigns/new/", _form(crowd, mail))
    assert saved.status_code == 302
    row = Campaign.objects.get()
    assert row.definition["variants"] == [{"key": "A", "template_id": mail["A"]}, {"key": "B", "template_id": mail["B"]}]
    assert row.definition["goal"] == {"event": "Order Completed", "within": {"days": 3}}
    page = console.get(f"/campaigns/{row.id}/")
    assert b"Winter &lt;b&gt;sale&lt;/b&gt;" in page.content and b"<b>sale</b>" not in page.content
    assert console.post(f"/campaigns/{row.id}/action/", {"action": "schedule"}).status_code == 302
    row.refresh_from_db()
    assert row.status == "scheduled"
    polling = console.get(f"/campaigns/{row.id}/?part=progress")
    assert b'hx-trigger="load delay:2s"' in polling.content
    campaigns_tick()
    done = console.get(f"/campaigns/{row.id}/")
    assert b"Conversion rate by group" in done.content and b"Newcombe" in done.content
    assert b'hx-trigger="load delay:2s"' not in console.get(f"/campaigns/{row.id}/?part=progress").content


def test_a_bad_form_says_what_to_fix_where(console, crowd, mail):
    answer = console.post("/campaigns/new/", _form(crowd, mail, schedule="local"))
    assert answer.status_code == 422 and b"a local send names a date and a time" in answer.content
    assert not Campaign.objects.exists()


def test_the_approval_rule_is_set_on_the_list_by_admins_only(console_as, tenant_a):
    from campaigns.services.campaigns import policy_get

    admin = console_as(Role.ADMIN)
    assert "Save the rule" in admin.get("/campaigns/").content.decode()
    saved = admin.post("/campaigns/approval-rule/", {"approval_threshold": "2500"}, follow=True).content.decode()
    assert "more than 2,500 customers" in saved and policy_get(tenant=tenant_a.ref).approval_threshold == 2500
    refused = admin.post("/campaigns/approval-rule/", {"approval_threshold": "-1"})
    assert refused.status_code == 422 and "The threshold was not changed" in refused.content.decode()
    assert policy_get(tenant=tenant_a.ref).approval_threshold == 2500
    editor = console_as(Role.EDITOR)
    assert "Save the rule" not in editor.get("/campaigns/").content.decode() and "2500" in editor.get("/campaigns/").content.decode()
    assert editor.post("/campaigns/approval-rule/", {"approval_threshold": "0"}).status_code == 403
    assert policy_get(tenant=tenant_a.ref).approval_threshold == 2500
