"""The console's journeys without JavaScript: a draft made from the editor with errors at their
node, publishing with the in-flight choice, the diagram with counts (labels escaped), pausing,
the instance explorer, and viewers who may look but not change."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from journeys.models import Journey
from journeys.services.orchestrator import orchestrator_tick
from tenancy.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def definition(channel_id, template_id):
    return {"entry": {"type": "manual"}, "start": "hello",
            "nodes": [{"id": "hello", "label": "Hello <script>", "type": "send", "channel_id": channel_id, "template_id": template_id,
                       "topic": "offers", "next": "wait"},
                      {"id": "wait", "type": "wait", "duration": {"days": 1}, "next": "done"},
                      {"id": "done", "type": "exit"}],
            "holdout_percent": 0}


def test_a_journey_is_drafted_published_and_watched_in_the_console(console_as, hook, people, admin, t0):
    client = console_as(Role.EDITOR)
    assert "Design the first one" in client.get("/journeys/").content.decode()
    bad = definition(*hook)
    bad["nodes"][1]["duration"] = {"weeks": 1}
    refused = client.post("/journeys/new/", {"name": "Welcome", "definition": json.dumps(bad)})
    assert refused.status_code == 422 and "nodes[wait].duration.weeks" in refused.content.decode()
    assert "Not JSON" in client.post("/journeys/new/", {"name": "Welcome", "definition": "{"}).content.decode()
    made = client.post("/journeys/new/", {"name": "Welcome", "definition": json.dumps(definition(*hook))})
    journey = Journey.objects.get(name="Welcome")
    assert made.status_code == 302 and made["Location"] == f"/journeys/{journey.id}/"
    page = client.get(f"/journeys/{journey.id}/").content.decode()
    assert "<svg" in page and "Hello &lt;script&gt;" in page and "<script>" not in page.split("<svg")[1].split("</svg>")[0]
    assert "Publish version 1" in page
    client.post(f"/journeys/{journey.id}/publish/", {"in_flight": "stay"})
    admin.post(f"/api/journeys/{journey.id}/enroll", {"customers": [{"cdp_id": people["ada"]}]})
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    page = client.get(f"/journeys/{journey.id}/").content.decode()
    assert "version 1 live" in page and "1 here · 1 arrived" in page  # the wait node's counts on the diagram
    filtered = client.get(f"/journeys/{journey.id}/?node=wait").content.decode()
    instance = journey.instances.get()
    assert f"/journeys/{journey.id}/instances/{instance.instance_id}/" in filtered
    why = client.get(f"/journeys/{journey.id}/instances/{instance.instance_id}/").content.decode()
    assert "Why is this customer here?" in why and "journey:" in why  # the send's key in the history
    client.post(f"/journeys/{journey.id}/status/", {"action": "pause"})
    assert Journey.objects.get(id=journey.id).status == "paused"
    list_page = client.get("/journeys/").content.decode()
    assert "paused" in list_page and "Orchestrator ticks" in list_page


def test_editing_a_live_journey_shows_the_draft_and_its_problems(console_as, hook):
    client = console_as(Role.EDITOR)
    client.post("/journeys/new/", {"name": "W", "definition": json.dumps(definition(*hook))})
    journey = Journey.objects.get(name="W")
    client.post(f"/journeys/{journey.id}/publish/", {"in_flight": "stay"})
    changed = definition(*hook)
    changed["nodes"][1]["next"] = "nowhere"
    assert client.post(f"/journeys/{journey.id}/edit/", {"name": "W", "definition": json.dumps(changed)}).status_code == 302
    page = client.get(f"/journeys/{journey.id}/").content.decode()
    assert "draft version 2" in page and "nodes[wait].next" in page and "Instances in flight" in page
    answer = client.post(f"/journeys/{journey.id}/publish/", {"in_flight": "move", "node_map": "nonsense"}, follow=True)
    assert "old_node=new_node" in answer.content.decode()
    answer = client.post(f"/journeys/{journey.id}/publish/", {"in_flight": "stay"}, follow=True)
    assert "cannot be published" in answer.content.decode() and Journey.objects.get(id=journey.id).live_version == 1


def test_viewers_see_journeys_but_cannot_change_them(console_as, hook, tenant_a):
    from journeys.services.journeys import journey_create

    journey = journey_create(tenant=tenant_a.ref, name="W", definition=definition(*hook), actor="t")
    viewer = console_as(Role.VIEWER)
    page = viewer.get(f"/journeys/{journey.id}/").content.decode()
    assert "/publish/" not in page and "/status/" not in page and "New journey" not in viewer.get("/journeys/").content.decode()
    assert viewer.post(f"/journeys/{journey.id}/publish/", {"in_flight": "stay"}).status_code == 403
    assert viewer.post("/journeys/new/", {"name": "X", "definition": "{}"}).status_code == 403
