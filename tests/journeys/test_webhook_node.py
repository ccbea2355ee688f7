"""A journey calls a webhook through messaging and keeps the answer as journey variables: a later
branch decides on them and templates see them; a failed call takes the failure policy."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from journeys.models import Instance, InstanceStep
from journeys.services.journeys import journey_create, journey_enroll, journey_publish
from journeys.services.orchestrator import orchestrator_tick
from messaging.models import Delivery
from messaging.services import channels, templates
from messaging.services.drain import drain_once
from tests.messaging.receivers import Answer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


@pytest.fixture
def scoring(tenant_a, receiver):
    channel = channels.channel_create(tenant=tenant_a.ref, name="Scoring", kind="webhook", config={"url": f"{receiver.url}/score"},
                                      actor="t")
    template = templates.template_create(tenant=tenant_a.ref, name="Score request", channel_kind="webhook", actor="t",
                                         parts={"body": '{"customer": {{ customer.cdp_id | json }}, "cart": {{ vars.key | json }}}'})
    return channel.id, template.id


def journey(tenant_a, channel_id, template_id, **on_failure):
    definition = {"entry": {"type": "manual"}, "start": "score", "holdout_percent": 0, "nodes": [
        {"id": "score", "type": "webhook", "channel_id": channel_id, "template_id": template_id, "save": {"tier": "result.tier"},
         "next": "branch", **({"on_failure": on_failure} if on_failure else {})},
        {"id": "branch", "type": "branch", "ways": [{"variables": [{"property": "vars.tier", "op": "equals", "value": "gold"}], "next": "gold"}],
         "else": "other"},
        {"id": "gold", "type": "exit"}, {"id": "other", "type": "exit"}, {"id": "oops", "type": "exit"}]}
    if on_failure.get("then") != "failure_exit":
        definition["nodes"].pop()
    info = journey_create(tenant=tenant_a.ref, name=f"score {len(on_failure)}", definition=definition, actor="t")
    return journey_publish(tenant=tenant_a.ref, journey_id=info.id, actor="t")


def test_a_webhooks_answer_becomes_variables_a_branch_decides_on(tenant_a, people, scoring, receiver, t0):
    receiver.default = Answer(body=json.dumps({"result": {"tier": "gold"}}).encode(), headers={"content-type": "application/json"})
    info = journey(tenant_a, *scoring)
    journey_enroll(tenant=tenant_a.ref, journey_id=info.id, actor="t", customers=[{"cdp_id": people["ada"]}], key="cart-9")
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    row = Instance.objects.get()
    assert (row.node, row.wait_set) == ("score", True)  # waiting for the answer
    orchestrator_tick(now=t0 + timedelta(minutes=3))  # not sent yet: still waiting, and queued once
    assert Delivery.objects.count() == 1 and Instance.objects.get().node == "score"
    drain_once(now=t0 + timedelta(minutes=4))
    assert json.loads(receiver.received[0].body) == {"customer": people["ada"], "cart": "cart-9"}
    orchestrator_tick(now=t0 + timedelta(minutes=5))
    row = Instance.objects.get()
    assert (row.node, row.status) == ("gold", "completed")
    assert row.context["vars"] == {"tier": "gold", "score": {"status": 200}}
    step = InstanceStep.objects.get(instance=row, node="score")
    assert step.way == "next" and step.detail["status"] == 200


def test_a_failed_call_takes_the_failure_exit(tenant_a, people, scoring, receiver, t0):
    receiver.default = Answer(status=404, body=b'{"error": "no such customer"}', headers={"content-type": "application/json"})
    info = journey(tenant_a, *scoring, then="failure_exit", next="oops")
    journey_enroll(tenant=tenant_a.ref, journey_id=info.id, actor="t", customers=[{"cdp_id": people["bob"]}])
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    drain_once(now=t0 + timedelta(minutes=2))
    orchestrator_tick(now=t0 + timedelta(minutes=3))
    row = Instance.objects.get()
    assert row.node == "oops" and "HTTP 404" in InstanceStep.objects.get(instance=row, node="score").detail["error"]


def test_no_answer_within_the_timeout_is_a_failure(tenant_a, people, scoring, t0):
    info = journey(tenant_a, *scoring, then="end")
    journey_enroll(tenant=tenant_a.ref, journey_id=info.id, actor="t", customers=[{"cdp_id": people["cy"]}])
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    orchestrator_tick(now=t0 + timedelta(hours=2))  # nothing drained the outbox
    row = Instance.objects.get()
    assert row.status == "failed" and "no answer" in row.end_reason
