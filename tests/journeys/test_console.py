"""The console's journeys without JavaScript: a draft made from the editor with errors at their
node, publishing with the in-flight choice, the diagram with counts (labels escaped), pausing,
the instance explorer, and viewers who may look but not change."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

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


def test_a_simulation_is_asked_for_followed_and_drawn_in_the_console(console_as, hook, track_many, t0, tenant_a, settings):
    """An editor backtests a draft over yesterday afternoon from the journey's page (times typed
    in the tenant's zone): the figures, the simulated diagram and the instances are shown; the
    polling part answers alone; a request that cannot run says which field, and a viewer sees
    the result but no form."""
    from journeys.services.backtest import _on_grid
    from journeys.services.journeys import journey_create
    from tenancy.models import Tenant
    from tests.journeys.test_backtest import cart_journey, shoppers

    Tenant.objects.filter(id=tenant_a.ref.id).update(time_zone="Europe/Paris")  # an hour off UTC: a wrong zone loses carts
    journey = journey_create(tenant=tenant_a.ref, name="Carts", definition=cart_journey(*hook), actor="t")
    base = _on_grid(t0 - timedelta(days=1))
    track_many(shoppers(base))
    editor = console_as(Role.EDITOR)
    page = editor.get(f"/journeys/{journey.id}/").content.decode()
    assert f'action="/journeys/{journey.id}/simulate/"' in page and "Simulate" in page
    refused = editor.post(f"/journeys/{journey.id}/simulate/", {"mode": "backtest"}, follow=True).content.decode()
    assert "Not simulated: A backtest needs the period" in refused
    start = base.astimezone(ZoneInfo("Europe/Paris")).replace(tzinfo=None)
    done = editor.post(f"/journeys/{journey.id}/simulate/", {"mode": "backtest", "start": start.isoformat(timespec="minutes"),
                                                           "end": (start + timedelta(hours=4)).isoformat(timespec="minutes")},
                       follow=True)
    html = done.content.decode()
    assert "Simulated: the figures are below." in html and ">succeeded<" in html
    assert 'aria-label="The simulated run' in html and "arrow-simulated" in html and "The first 17 instances" in html
    assert "Past events, version 1" in html
    viewer = console_as(Role.VIEWER).get(f"/journeys/{journey.id}/").content.decode()
    assert ">succeeded<" in viewer and "/simulate/" not in viewer
    assert console_as(Role.VIEWER).post(f"/journeys/{journey.id}/simulate/", {"mode": "audience"}).status_code == 403
    settings.CDP_TASKS_INLINE = False  # left to a worker: the part polls until it is done
    queued = editor.post(f"/journeys/{journey.id}/simulate/", {"mode": "backtest", "start": start.isoformat(timespec="minutes")},
                         follow=True).content.decode()
    assert "Simulation queued" in queued and f'hx-get="/journeys/{journey.id}/?part=simulations&amp;simulation=' in queued
    part = editor.get(f"/journeys/{journey.id}/?part=simulations").content.decode()
    assert 'id="simulations"' in part and "<html" not in part and 'hx-trigger="load delay:1s"' in part


def test_a_viewer_tries_a_journey_on_one_customer_from_its_page(console_as, hook, people, tenant_a, admin):
    """The single-customer test is a GET (it changes nothing, so a viewer may): named by email,
    the steps with the message rendered for them and the path on a diagram; a wait for events
    gets a field per event; a problem is shown at its field; the HTMX answer is the card alone."""
    from journeys.services.journeys import journey_create
    from messaging.models import Delivery

    spec = {"entry": {"type": "manual"}, "start": "wait",
            "nodes": [{"id": "wait", "type": "wait_event", "timeout": {"hours": 4}, "timeout_next": "hello",
                       "events": [{"event": "Order Completed", "next": "done"}]},
                      {"id": "hello", "type": "send", "channel_id": hook[0], "template_id": hook[1], "topic": "offers", "next": "done"},
                      {"id": "done", "type": "exit"}],
            "holdout_percent": 0}
    journey = journey_create(tenant=tenant_a.ref, name="Carts", definition=spec, actor="t")
    viewer = console_as(Role.VIEWER)
    url = f"/journeys/{journey.id}/"
    page = viewer.get(url).content.decode()
    assert "Try it on one customer" in page and 'name="test-customer"' in page and 'name="test-choice_wait"' in page
    assert "Order Completed comes (done)" in page
    tried = viewer.get(url, {"test-customer": "ada@example.com", "test-context": '{"cartId": "<c1>"}'}).content.decode()
    card = tried.split('id="journey-test"')[1]
    assert "ada@example.com: version 1" in card and people["ada"] in card and "completed" in card
    assert "<code>hello</code>" in card and "The message" in card and "&quot;name&quot;: &quot;Ada&quot;" in card
    assert "arrow-test" in card and "1 here · 1 arrived" in card  # the path drawn: done is where they end
    came = viewer.get(url, {"test-customer": "ada@example.com", "test-choice_wait": "0"}).content.decode().split('id="journey-test"')[1]
    assert "event:0" in came and "The message" not in came
    unknown = viewer.get(url, {"test-customer": "nobody@example.com"}).content.decode().split('id="journey-test"')[1]
    assert "No customer nobody@example.com in this tenant." in unknown and "Ends:" not in unknown
    bad = viewer.get(url, {"test-customer": "ada@example.com", "test-context": "[1]"}).content.decode()
    assert "A JSON object of properties" in bad
    assert viewer.get(url, {"test-customer": "a\x00b"}).status_code == 400  # NUL in a query: refused before any view
    for odd in ({"test-customer": "ada@example.com", "test-at": "yesterday", "test-version": "99999999999"},
                {"test-customer": "ada@example.com", "test-version": "7"}, {"test-customer": "ada@example.com", "test-choice_wait": "5"}):
        answer = viewer.get(url, odd)
        assert answer.status_code == 200 and "Ends:" not in answer.content.decode().split('id="journey-test"')[1], odd
    part = viewer.get(url, {"part": "test", "test-customer": "<b>ada@example.com</b>"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in part and 'id="journey-test"' in part
    assert "&lt;b&gt;ada@example.com&lt;/b&gt;" in part and "<b>ada" not in part
    assert not Delivery.objects.exists()


def test_an_editor_builds_a_journey_node_by_node(console_as, hook):
    """Nodes are added, changed and removed with forms made from each node type's schema: a
    problem is shown at its field (the node's own schema, then the whole definition), a live
    journey's change makes a draft, the JSON editor sees the same definition, viewers get no forms."""
    from journeys.models import JourneyVersion

    editor = console_as(Role.EDITOR)
    editor.post("/journeys/new/", {"name": "Steps", "definition": json.dumps(definition(*hook))})
    journey = Journey.objects.get(name="Steps")
    edit = f"/journeys/{journey.id}/edit/"
    page = editor.get(edit).content.decode()
    assert 'id="nodes-title"' in page and f'/journeys/{journey.id}/nodes/hello/' in page and '<option value="update_trait">' in page
    form = editor.get(f"/journeys/{journey.id}/nodes/new/?type=wait_event").content.decode()
    assert 'name="id"' in form and 'name="events"' in form and 'name="timeout_next"' in form and 'list="journey-node-ids"' in form
    assert 'name="timeout.hours"' in form and 'name="timeout"' not in form  # a duration part by part
    bad = editor.post(f"/journeys/{journey.id}/nodes/new/", {"type": "wait_event", "id": "cart", "events": '[{"event": "Order Completed"}]',
                                                             "timeout.hours": "4", "timeout_next": "hello"})
    assert bad.status_code == 422 and "0.next: Field required" in bad.content.decode()
    assert editor.post(f"/journeys/{journey.id}/nodes/new/", {"type": "wait_event", "id": "cart", "events": "[",
                                                              "timeout.hours": "4", "timeout_next": "x"}).status_code == 422
    unstorable = editor.post(f"/journeys/{journey.id}/nodes/new/", {"type": "wait_event", "id": "cart", "timeout.hours": "4",
                                                                    "events": '[{"event": "a\\u0000", "next": "done"}]', "timeout_next": "x"})
    assert unstorable.status_code == 422 and "NUL" in unstorable.content.decode()  # refused as the API refuses it, not a 500 at save
    taken = editor.post(f"/journeys/{journey.id}/nodes/new/", {"type": "exit", "id": "done"})
    assert "has a node done already" in taken.content.decode()
    made = editor.post(f"/journeys/{journey.id}/nodes/new/", {"type": "wait_event", "id": "cart", "label": "Cart <b>",
                                                              "events": '[{"event": "Order Completed", "next": "done"}]',
                                                              "timeout.hours": "4", "timeout.minutes": "0", "timeout_next": "hello"})
    assert made.status_code == 302
    nodes = {n["id"]: n for n in JourneyVersion.objects.get(journey=journey, version=1).definition["nodes"]}
    assert nodes["cart"]["events"][0]["event"] == "Order Completed" and nodes["cart"]["timeout"] == {"hours": 4}
    assert "Cart &lt;b&gt;" in editor.get(edit).content.decode()
    wait = editor.get(f"/journeys/{journey.id}/nodes/wait/").content.decode()
    assert 'value="done"' in wait and 'name="duration.days" value="1"' in wait  # the stored values are the form's
    refused = editor.post(f"/journeys/{journey.id}/nodes/wait/", {"type": "wait", "duration.days": "-1", "next": "done"})
    assert refused.status_code == 422 and 'id="id_duration.days_error"' in refused.content.decode()  # at the part that is wrong
    assert editor.post(f"/journeys/{journey.id}/nodes/wait/", {"type": "wait", "duration.days": "1", "next": "cart"}).status_code == 302
    editor.post(f"/journeys/{journey.id}/publish/", {"in_flight": "stay"})
    assert Journey.objects.get(id=journey.id).live_version == 1
    changed = editor.post(f"/journeys/{journey.id}/nodes/wait/", {"type": "wait", "duration.hours": "2", "duration.days": "",
                                                                  "next": "cart"}, follow=True)
    assert "in a new draft version" in changed.content.decode()
    versions = {v.version: {n["id"]: n for n in v.definition["nodes"]} for v in JourneyVersion.objects.filter(journey=journey)}
    assert versions[1]["wait"]["duration"] == {"days": 1} and versions[2]["wait"] == {**versions[2]["wait"], "duration": {"hours": 2},
                                                                                       "next": "cart"}
    removed = editor.post(f"/journeys/{journey.id}/nodes/cart/delete/", follow=True).content.decode()
    assert "Node cart is removed" in removed and "nodes[wait].next" in editor.get(f"/journeys/{journey.id}/").content.decode()
    assert "cart" not in {n["id"] for n in JourneyVersion.objects.get(journey=journey, version=2).definition["nodes"]}
    part = editor.get(f"/journeys/{journey.id}/nodes/hello/", HTTP_HX_REQUEST="true").content.decode()
    assert part.lstrip().startswith('<section class="card" id="node-panel"') and 'name="channel_id"' in part
    assert f'<option value="{hook[0]}" selected>Export (table)</option>' in part  # ids picked from what the tenant has
    assert 'name="journey_id"' in editor.get(f"/journeys/{journey.id}/nodes/new/?type=enroll").content.decode()
    assert editor.get(f"/journeys/{journey.id}/nodes/nope/").status_code == 302
    assert editor.get(f"/journeys/{journey.id}/nodes/new/?type=nope").status_code == 302
    viewer = console_as(Role.VIEWER)
    assert f"/journeys/{journey.id}/nodes/new/" not in viewer.get(edit).content.decode()
    assert viewer.post(f"/journeys/{journey.id}/nodes/new/", {"type": "exit", "id": "x"}).status_code == 403
    assert "Save the node" not in viewer.get(f"/journeys/{journey.id}/nodes/hello/").content.decode()


def test_an_editor_sends_a_tried_journeys_messages_to_a_test_address(console_as, people, tenant_a, smtp_server):
    from journeys.services.journeys import journey_create
    from messaging.services import channels, templates

    channel = channels.channel_create(tenant=tenant_a.ref, name="Mail", kind="email", actor="t", secret="",
                                      config={"backend": "smtp", "host": "127.0.0.1", "port": smtp_server.port, "security": "none",
                                              "from_email": "Shop <news@shop.example.com>"})
    template = templates.template_create(tenant=tenant_a.ref, name="Hi", channel_kind="email", actor="t",
                                         parts={"subject": "Hello {{ customer.first_name }}", "text": "Hi"})
    journey = journey_create(tenant=tenant_a.ref, name="Hi", actor="t", definition={
        "entry": {"type": "manual"}, "start": "hello", "holdout_percent": 0,
        "nodes": [{"id": "hello", "type": "send", "channel_id": channel.id, "template_id": template.id, "category": "transactional",
                   "next": "done"}, {"id": "done", "type": "exit"}]})
    editor = console_as(Role.EDITOR)
    tried = editor.get(f"/journeys/{journey.id}/", {"test-customer": "ada@example.com"}).content.decode()
    assert f'action="/journeys/{journey.id}/test-send/?test-customer=ada%40example.com"' in tried
    done = editor.post(f"/journeys/{journey.id}/test-send/?test-customer=ada%40example.com", {"send_to": "ops@shop.example.com"},
                       follow=True).content.decode()
    assert "1 test message sent to ops@shop.example.com, as rendered for ada@example.com" in done and "Hello Ada" not in done.split("<main")[0]
    assert [(m["To"], m["Subject"]) for m in smtp_server.inbox.messages] == [("ops@shop.example.com", "Hello Ada")]
    refused = editor.post(f"/journeys/{journey.id}/test-send/?test-customer=ada%40example.com", {"send_to": ""}, follow=True)
    assert "Not sent: name the test addresses" in refused.content.decode() and len(smtp_server.inbox.messages) == 1
    viewer = console_as(Role.VIEWER)
    assert "/test-send/" not in viewer.get(f"/journeys/{journey.id}/", {"test-customer": "ada@example.com"}).content.decode()
    assert viewer.post(f"/journeys/{journey.id}/test-send/?test-customer=ada%40example.com", {"send_to": "x@y.z"}).status_code == 403


def test_a_nodes_durations_policies_and_weekdays_are_fields_not_json(console_as, hook):
    """A wait until 09:00 on chosen weekdays, a send's failure policy: each part its own field,
    stored as one would write it (a part left at its default left out), shown back as stored."""
    from journeys.models import JourneyVersion

    editor = console_as(Role.EDITOR)
    editor.post("/journeys/new/", {"name": "Parts", "definition": json.dumps(definition(*hook))})
    journey = Journey.objects.get(name="Parts")
    form = editor.get(f"/journeys/{journey.id}/nodes/new/?type=wait_until").content.decode()
    assert 'type="checkbox" name="weekdays" value="0"' in form and "Mon" in form
    made = editor.post(f"/journeys/{journey.id}/nodes/new/", {"type": "wait_until", "id": "morning", "at": "09:00", "weekdays": ["0", "2"],
                                                              "next": "done"})
    assert made.status_code == 302
    policy = {"type": "send", "channel_id": str(hook[0]), "template_id": str(hook[1]), "category": "marketing", "topic": "offers", "next": "done",
              "on_failure.retries": "2", "on_failure.then": "failure_exit", "on_failure.next": "morning"}
    saved = editor.post(f"/journeys/{journey.id}/nodes/hello/", policy)
    assert saved.status_code == 302, re.findall(r'(?s)error[^>]*>(.{0,300})', saved.content.decode())
    nodes = {n["id"]: n for n in JourneyVersion.objects.get(journey=journey, version=1).definition["nodes"]}
    assert nodes["morning"]["weekdays"] == [0, 2]
    assert nodes["hello"]["on_failure"] == {"retries": 2, "then": "failure_exit", "next": "morning"}
    shown = editor.get(f"/journeys/{journey.id}/nodes/hello/").content.decode()
    assert 'name="on_failure.retries" value="2"' in shown and '<option value="failure_exit" selected>' in shown
    back = {**policy, "on_failure.retries": "0", "on_failure.then": "end", "on_failure.next": ""}
    assert editor.post(f"/journeys/{journey.id}/nodes/hello/", back).status_code == 302
    nodes = {n["id"]: n for n in JourneyVersion.objects.get(journey=journey, version=1).definition["nodes"]}
    assert "on_failure" not in nodes["hello"]  # all at their defaults: the schema's default again
    too_many = editor.post(f"/journeys/{journey.id}/nodes/hello/", {**policy, "on_failure.retries": "11"})
    assert too_many.status_code == 422 and 'id="id_on_failure.retries_error"' in too_many.content.decode()
