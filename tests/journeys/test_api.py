"""The journeys API: drafts, validation naming the node, publishing with in-flight policies,
enrolment (idempotent), instances with their history, the report, status changes."""
from __future__ import annotations

from datetime import timedelta

import pytest

from journeys.models import Instance
from journeys.services.orchestrator import orchestrator_tick
from kernel.stats import difference_interval, wilson

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def welcome(channel_id, template_id, **extra):
    return {"entry": {"type": "manual"}, "start": "first",
            "nodes": [{"id": "first", "type": "send", "channel_id": channel_id, "template_id": template_id, "topic": "offers", "next": "wait"},
                      {"id": "wait", "type": "wait", "duration": {"days": 2}, "next": "second"},
                      {"id": "second", "type": "send", "channel_id": channel_id, "template_id": template_id, "topic": "offers", "next": "done"},
                      {"id": "done", "type": "exit"}],
            "holdout_percent": 0, **extra}


def test_a_draft_may_be_incomplete_but_publishing_names_each_problem(admin, hook):
    channel, template = hook
    draft = welcome(channel, template)
    draft["nodes"][0]["next"] = "nowhere"
    draft["nodes"].append({"id": "orphan", "type": "exit"})
    made = admin.post("/api/journeys", {"name": "Welcome", "definition": draft})
    assert made.status_code == 201 and made.json()["status"] == "draft"
    journey_id = made.json()["id"]
    refused = admin.post(f"/api/journeys/{journey_id}/publish", {})
    assert refused.status_code == 422
    fields = {e["field"]: e["message"] for e in refused.json()["errors"]}
    assert fields == {"definition.nodes[first].next": "no node 'nowhere'"}
    draft["nodes"][0]["next"] = "wait"
    assert admin.patch(f"/api/journeys/{journey_id}", {"definition": draft}).status_code == 200
    problems = admin.get(f"/api/journeys/{journey_id}/problems").json()
    assert problems == [{"field": "nodes[orphan]", "message": "unreachable from the start", "severity": "error"}]


def test_the_schema_is_checked_on_save_with_the_node_named(admin, hook):
    bad = welcome(*hook)
    bad["nodes"][1]["duration"] = {"weeks": 1}
    answer = admin.post("/api/journeys", {"name": "W", "definition": bad})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "definition.nodes[wait].duration.weeks"


def test_publishing_checks_the_tenants_channels_templates_and_topics(admin, hook):
    channel, template = hook
    definition = welcome(channel, template)
    definition["nodes"][0]["channel_id"] = channel + 100
    definition["nodes"][2]["topic"] = "nope"
    journey_id = admin.post("/api/journeys", {"name": "W", "definition": definition}).json()["id"]
    errors = {e["field"] for e in admin.post(f"/api/journeys/{journey_id}/publish", {}).json()["errors"]}
    assert errors == {"definition.nodes[first].channel_id", "definition.nodes[second].topic"}


def test_loops_without_a_wait_are_refused(admin, hook):
    definition = welcome(*hook)
    definition["nodes"][0]["next"] = "split"
    definition["nodes"].append({"id": "split", "type": "split", "ways": [{"percent": 50, "next": "first"}, {"percent": 50, "next": "wait"}]})
    journey_id = admin.post("/api/journeys", {"name": "Loop", "definition": definition}).json()["id"]
    errors = admin.post(f"/api/journeys/{journey_id}/publish", {}).json()["errors"]
    assert errors[0]["message"].startswith("a loop without a wait:") and "first" in errors[0]["message"]


def test_enrolment_is_idempotent_and_instances_show_their_history(admin, hook, people, t0):
    journey_id = admin.post("/api/journeys", {"name": "Welcome", "definition": welcome(*hook)}).json()["id"]
    assert admin.post(f"/api/journeys/{journey_id}/publish", {}).json()["status"] == "active"
    body = {"customers": [{"cdp_id": people["ada"]}, {"type": "email", "value": "BOB@example.com"}, {"cdp_id": "nobody"}]}
    first = admin.post(f"/api/journeys/{journey_id}/enroll", body).json()
    assert (first["enrolled"], first["unknown"]) == (2, ["nobody"])
    again = admin.post(f"/api/journeys/{journey_id}/enroll", body).json()
    assert again["enrolled"] == 0 and again["refused"] == {"duplicate": 2}
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    page = admin.get(f"/api/journeys/{journey_id}/instances?node=wait").json()
    assert page["total"] == 2
    instance = page["items"][0]["instance_id"]
    detail = admin.get(f"/api/journeys/{journey_id}/instances/{instance}").json()
    assert [(s["node"], s["way"], s["to_node"]) for s in detail["steps"]] == [("", "entry", "first"), ("first", "next", "wait")]
    assert detail["steps"][1]["detail"]["key"].startswith(f"journey:{journey_id}.1:{instance}:first:")
    mine = admin.get(f"/api/customers/{people['ada']}/journeys").json()
    assert [j["journey_id"] for j in mine] == [journey_id]


def test_the_report_counts_each_node(admin, hook, people, t0):
    journey_id = admin.post("/api/journeys", {"name": "Welcome", "definition": welcome(*hook)}).json()["id"]
    admin.post(f"/api/journeys/{journey_id}/publish", {})
    admin.post(f"/api/journeys/{journey_id}/enroll", {"customers": [{"cdp_id": people[u]} for u in ("ada", "bob")]})
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    orchestrator_tick(now=t0 + timedelta(days=3))
    nodes = {n["node"]: n for n in admin.get(f"/api/journeys/{journey_id}/report").json()["versions"][0]["nodes"]}
    assert (nodes["first"]["arrived"], nodes["first"]["moved_on"]) == (2, 2)
    assert nodes["wait"]["median_seconds"] == pytest.approx(timedelta(days=3, minutes=-1).total_seconds())
    assert (nodes["done"]["arrived"], nodes["done"]["ended"], nodes["done"]["here"]) == (2, 2, 0)


def test_editing_a_live_journey_makes_a_draft_and_in_flight_instances_stay_or_move(admin, hook, people, t0):
    channel, template = hook
    journey_id = admin.post("/api/journeys", {"name": "Welcome", "definition": welcome(channel, template)}).json()["id"]
    admin.post(f"/api/journeys/{journey_id}/publish", {})
    admin.post(f"/api/journeys/{journey_id}/enroll", {"customers": [{"cdp_id": people["ada"]}]})
    orchestrator_tick(now=t0 + timedelta(minutes=1))  # ada waits at "wait" on version 1
    v2 = welcome(channel, template)
    v2["nodes"][1] = {"id": "pause", "type": "wait", "duration": {"hours": 1}, "next": "second"}
    v2["nodes"][0]["next"] = "pause"
    edited = admin.patch(f"/api/journeys/{journey_id}", {"definition": v2}).json()
    assert (edited["version"], edited["live_version"]) == (2, 1)
    admin.post(f"/api/journeys/{journey_id}/enroll", {"customers": [{"cdp_id": people["bob"]}]})
    moved = admin.post(f"/api/journeys/{journey_id}/publish", {"in_flight": "move", "node_map": {"wait": "pause"}}).json()
    assert moved["live_version"] == 2
    versions = admin.get(f"/api/journeys/{journey_id}/versions").json()
    assert versions[0]["migration"] == {"policy": "move", "moved": 2, "ended": 0}  # ada at wait, bob at first (same id)
    ada = Instance.objects.get(cdp_id=people["ada"])
    assert (ada.version, ada.node) == (2, "pause")
    bad = admin.post(f"/api/journeys/{journey_id}/publish", {})
    assert bad.status_code == 409


def test_pinned_instances_finish_on_their_version(admin, hook, people, t0):
    channel, template = hook
    journey_id = admin.post("/api/journeys", {"name": "Welcome", "definition": welcome(channel, template)}).json()["id"]
    admin.post(f"/api/journeys/{journey_id}/publish", {})
    admin.post(f"/api/journeys/{journey_id}/enroll", {"customers": [{"cdp_id": people["ada"]}]})
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    v2 = welcome(channel, template)
    v2["nodes"][2]["next"] = "done"
    v2["nodes"][1]["duration"] = {"days": 9}
    admin.patch(f"/api/journeys/{journey_id}", {"definition": v2})
    admin.post(f"/api/journeys/{journey_id}/publish", {})  # stay: ada keeps version 1's 2-day wait
    orchestrator_tick(now=t0 + timedelta(days=3))
    ada = Instance.objects.get(cdp_id=people["ada"])
    assert (ada.version, ada.status) == (1, "completed")


def test_status_changes_and_their_conflicts(admin, hook):
    journey_id = admin.post("/api/journeys", {"name": "Welcome", "definition": welcome(*hook)}).json()["id"]
    assert admin.post(f"/api/journeys/{journey_id}/pause").status_code == 409  # a draft: publish first
    admin.post(f"/api/journeys/{journey_id}/publish", {})
    assert admin.post(f"/api/journeys/{journey_id}/pause").json()["status"] == "paused"
    assert admin.post(f"/api/journeys/{journey_id}/enroll", {"customers": [{"cdp_id": "x"}]}).status_code == 409
    assert admin.post(f"/api/journeys/{journey_id}/resume").json()["status"] == "active"
    assert admin.post(f"/api/journeys/{journey_id}/archive").json()["status"] == "archived"
    assert admin.patch(f"/api/journeys/{journey_id}", {"name": "x"}).status_code == 409
    listed = admin.get("/api/journeys?status=archived").json()
    assert [j["id"] for j in listed["items"]] == [journey_id]


def test_the_interval_matches_a_hand_computed_example():
    """Newcombe's method 10 on 56/70 against 48/80 (his paper's worked example: 0.0524 to 0.3339)."""
    low, high = difference_interval(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    assert [round(v, 4) for v in wilson(56, 70)] == [0.6918, 0.8770]  # the group's own, as Newcombe's table gives


def test_trying_a_journey_on_one_customer_walks_every_step_and_renders_its_messages(admin, hook, people, sdk, t0):
    """Nothing is sent or stored; waits move the simulated clock; a branch decides on the
    customer's data; a wait for events takes the chosen event, else its timeout."""
    from journeys.models import Instance
    from messaging.models import Delivery

    channel, template = hook
    definition = {"entry": {"type": "manual"}, "start": "hello", "holdout_percent": 0, "nodes": [
        {"id": "hello", "type": "send", "channel_id": channel, "template_id": template, "topic": "offers", "next": "wait"},
        {"id": "wait", "type": "wait", "duration": {"days": 2}, "next": "bought"},
        {"id": "bought", "type": "wait_event", "timeout": {"hours": 4}, "timeout_next": "done",
         "events": [{"event": "Order Completed", "next": "thanks"}]},
        {"id": "thanks", "type": "exit"}, {"id": "done", "type": "exit"}]}
    journey_id = admin.post("/api/journeys", {"name": "Try", "definition": definition}).json()["id"]
    at = t0.isoformat()
    answer = admin.post(f"/api/journeys/{journey_id}/test", {"customer": "ada@example.com", "at": at, "key": "K1"})
    assert answer.status_code == 200, answer.content
    result = answer.json()
    assert [(s["node"], s["way"], s["to_node"]) for s in result["steps"]] == [
        ("", "entry", "hello"), ("hello", "next", "wait"), ("wait", "next", "bought"), ("bought", "timeout", "done"), ("done", "exit", "")]
    assert result["ended"] == "completed" and result["cdp_id"] == people["ada"]
    message = result["steps"][1]["detail"]["message"]
    assert message["parts"]["payload"] == '{"cart": "K1", "name": "Ada"}'  # rendered for her, with the key
    from datetime import datetime

    times = [datetime.fromisoformat(s["at"].replace("Z", "+00:00")) for s in result["steps"]]
    assert times[2] - times[1] == timedelta(days=2) and times[3] - times[2] == timedelta(hours=4)  # the clock moved past each wait
    chosen = admin.post(f"/api/journeys/{journey_id}/test", {"customer": people["bob"], "choices": {"bought": 0}}).json()
    assert chosen["steps"][-1]["node"] == "thanks" and chosen["steps"][-2]["way"] == "event:0"
    assert admin.post(f"/api/journeys/{journey_id}/test", {"customer": "bob", "choices": {"bought": 3}}).status_code == 422
    assert admin.post(f"/api/journeys/{journey_id}/test", {"customer": "nobody@example.com"}).status_code == 404
    assert not Instance.objects.exists() and not Delivery.objects.exists()


def test_a_journeys_test_sends_its_messages_as_rendered_for_the_customer_to_test_addresses(admin, api_as, tenant_a, people, smtp_server):
    """`send_to`: each message the test renders for Ada goes to the operator's inbox (a real SMTP
    server), now; nothing else happens to Ada; a viewer may not send; too many addresses is a 422."""
    from journeys.models import Instance
    from messaging.models import Delivery
    from messaging.services import channels, templates

    channel = channels.channel_create(tenant=tenant_a.ref, name="Mail", kind="email", actor="t", secret="",
                                      config={"backend": "smtp", "host": "127.0.0.1", "port": smtp_server.port, "security": "none",
                                              "from_email": "Shop <news@shop.example.com>"})
    template = templates.template_create(tenant=tenant_a.ref, name="Hi", channel_kind="email", actor="t",
                                         parts={"subject": "Hello {{ customer.first_name }}", "text": "Cart {{ vars.key }}"})
    definition = {"entry": {"type": "manual"}, "start": "hello", "holdout_percent": 0, "nodes": [
        {"id": "hello", "type": "send", "channel_id": channel.id, "template_id": template.id, "category": "transactional", "next": "wait"},
        {"id": "wait", "type": "wait", "duration": {"days": 1}, "next": "again"},
        {"id": "again", "type": "send", "channel_id": channel.id, "template_id": template.id, "category": "transactional", "next": "done"},
        {"id": "done", "type": "exit"}]}
    journey_id = admin.post("/api/journeys", {"name": "Hi", "definition": definition}).json()["id"]
    asked = {"customer": "ada@example.com", "key": "K7", "send_to": ["ops@shop.example.com", " ops@shop.example.com", "qa@shop.example.com"]}
    answer = admin.post(f"/api/journeys/{journey_id}/test", asked)
    assert answer.status_code == 200, answer.content
    sent = answer.json()["sent"]
    assert sorted((s["node"], s["to"]) for s in sent) == [("again", "ops@shop.example.com"), ("again", "qa@shop.example.com"),
                                                         ("hello", "ops@shop.example.com"), ("hello", "qa@shop.example.com")]
    arrived = sorted((m["To"], m["Subject"], m.get_content().strip()) for m in smtp_server.inbox.messages)
    assert arrived == [("ops@shop.example.com", "Hello Ada", "Cart K7")] * 2 + [("qa@shop.example.com", "Hello Ada", "Cart K7")] * 2
    rows = Delivery.objects.all()
    assert {(r.category, r.source, r.cdp_id) for r in rows} == {("transactional", f"journey-test:{journey_id}", people["ada"])}
    assert not Instance.objects.exists()
    again = admin.post(f"/api/journeys/{journey_id}/test", asked).json()["sent"]
    assert {s["delivery_id"] for s in again}.isdisjoint({s["delivery_id"] for s in sent})  # asked again: sent again
    viewer = api_as(tenant_a, "viewer")
    assert viewer.post(f"/api/journeys/{journey_id}/test", asked).status_code == 403
    many = admin.post(f"/api/journeys/{journey_id}/test", {**asked, "send_to": [f"q{n}@shop.example.com" for n in range(6)]})
    assert many.status_code == 422
    assert any(e["sentence"].startswith("sent 4 test messages of journey “Hi”") for e in admin.get("/api/audit?limit=5").json()["items"])
