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
            "topic": "news", "variant_rows": "5", "variant_1_template": mail["A"], "variant_2_template": mail["B"], "holdout_percent": "10", "schedule": "now",
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


def test_editing_a_campaign_made_over_the_api_keeps_what_the_form_cannot_show_at_a_glance(console, crowd, mail, tenant_a):
    """Six named, weighted variants and durations in minutes survive a round trip through the
    editor unchanged: the form shows a row for each and hours to the minute."""
    from campaigns.forms import CampaignForm, initial_from
    from campaigns.services.campaigns import campaign_create
    from messaging.selectors import channel_list, template_list
    from segments.selectors import segment_list

    variants = [{"key": f"subject-{n}", "template_id": mail["A" if n % 2 else "B"], "weight": n} for n in range(1, 7)]
    definition = {"audience": {"segments": [crowd["segment"]], "exclude": []}, "channel_id": mail["channel"], "category": "marketing",
                  "topic": "news", "variants": variants, "holdout_percent": 5, "schedule": {"type": "now"},
                  "max_lateness": {"hours": 1, "minutes": 30}, "goal": {"event": "Order Completed", "within": {"days": 1, "hours": 12}},
                  "winner": {"metric": "opened", "test_percent": 20, "wait": {"minutes": 45}}, "seeds": []}
    info = campaign_create(tenant=tenant_a.ref, actor="t", name="Many", description="", definition=definition)
    page = console.get(f"/campaigns/{info.id}/edit/").content.decode()
    assert 'value="subject-6"' in page and 'name="variant_6_weight"' in page and 'name="variant_7_key"' not in page
    form = CampaignForm(initial=initial_from(info.definition, name="Many"), segments=segment_list(tenant=tenant_a.ref, limit=500, offset=0).items,
                        channels=channel_list(tenant=tenant_a.ref), templates=template_list(tenant=tenant_a.ref))
    posted = {}  # what the browser sends back for the form as shown
    for name in form.fields:
        value = form[name].value()
        if value not in (None, "", []):
            posted[name] = [str(v) for v in value] if isinstance(value, list) else str(value)
    assert console.post(f"/campaigns/{info.id}/edit/", posted).status_code == 302
    saved = Campaign.objects.get(id=info.id).definition
    assert [{**v, "weight": v.get("weight", 1)} for v in saved["variants"]] == variants  # (a weight of 1, the default, is left out)
    assert saved["max_lateness"] == {"hours": 1, "minutes": 30}
    assert saved["goal"]["within"] == {"days": 1, "hours": 12} and saved["winner"]["wait"] == {"minutes": 45}


def test_the_editor_previews_every_variant_for_a_customer_and_links_the_templates(console, crowd, mail):

    found = console.post("/campaigns/reach/", _form(crowd, mail, preview_for="u07@example.com", holdout_percent="0")).content.decode()
    assert "For u07@example.com" in found and "A for U07" in found and "B for U07" in found  # every variant, rendered for them
    assert "In the audience: gets variant" in found and "Not in this audience" not in found
    assert f'href="/messages/templates/{mail["A"]}/"' in found and "Subject B" in found and 'href="/messages/templates/"' in found
    by_id = console.post("/campaigns/reach/", _form(crowd, mail, preview_for=crowd["u03"])).content.decode()
    assert "A for U03" in by_id
    outside = console.post("/campaigns/reach/", _form(crowd, mail, preview_for="guest")).content.decode()
    assert "Not in this audience" in outside and "A for Guest" in outside
    unknown = console.post("/campaigns/reach/", _form(crowd, mail, preview_for="<b>nobody</b>")).content.decode()
    assert "No customer matches &lt;b&gt;nobody&lt;/b&gt;" in unknown and "<b>nobody</b>" not in unknown
