"""A journey's enroll action puts the customer into another journey (manual entry) with its key and
entry properties, once however often a tick replays; the other journey's rules decide; a journey
that is not active takes the failure policy; publishing refuses a journey that is not there or
enters by its own entry."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from journeys.models import Instance, InstanceStep
from journeys.services.journeys import journey_create, journey_enroll, journey_publish, journey_set_status
from journeys.services.orchestrator import orchestrator_tick
from kernel.errors import InvalidInput

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def _publish(tenant_a, definition):
    info = journey_create(tenant=tenant_a.ref, name=f"j {uuid.uuid4().hex[:6]}", definition=definition, actor="t")
    return journey_publish(tenant=tenant_a.ref, journey_id=info.id, actor="t")


def _follow_up(tenant_a):
    return _publish(tenant_a, {"entry": {"type": "manual"}, "start": "wait", "holdout_percent": 0, "nodes": [
        {"id": "wait", "type": "wait", "duration": {"days": 1}, "next": "done"}, {"id": "done", "type": "exit"}]})


def _main(tenant_a, target_id, **on_failure):
    nodes = [{"id": "hand_over", "type": "enroll", "journey_id": target_id, "next": "done", **({"on_failure": on_failure} if on_failure else {})},
             {"id": "done", "type": "exit"}]
    return _publish(tenant_a, {"entry": {"type": "manual"}, "start": "hand_over", "holdout_percent": 0, "nodes": nodes})


def test_a_customer_is_handed_to_another_journey_with_key_and_properties_once(tenant_a, people, t0):
    follow_up = _follow_up(tenant_a)
    main = _main(tenant_a, follow_up.id)
    journey_enroll(tenant=tenant_a.ref, journey_id=main.id, actor="t", customers=[{"cdp_id": people["ada"]}], key="order-7",
                   context={"total": 99})
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    source = Instance.objects.get(journey_id=main.id)
    handed = Instance.objects.get(journey_id=follow_up.id)
    assert source.status == "completed" and (handed.cdp_id, handed.key, handed.context["entry"], handed.node) == \
        (people["ada"], "order-7", {"total": 99}, "wait")
    step = InstanceStep.objects.get(instance=source, node="hand_over")
    assert step.detail["journey_id"] == follow_up.id and handed.entry_ref == step.detail["ref"]
    # The same step asked again (a replayed tick) enrols nobody more.
    from journeys.services.enrol import Entrant
    from journeys.services.moves import enrol_into

    assert enrol_into(tenant_a.ref, follow_up.id, [Entrant(cdp_id=people["ada"], ref=step.detail["ref"], key="order-7")],
                      t0 + timedelta(minutes=2), None) == 0
    assert Instance.objects.filter(journey_id=follow_up.id).count() == 1


def test_a_paused_journey_takes_the_failure_policy(tenant_a, people, t0):
    follow_up = _follow_up(tenant_a)
    main = _main(tenant_a, follow_up.id, then="end")
    journey_set_status(tenant=tenant_a.ref, journey_id=follow_up.id, actor="t", status="paused")
    journey_enroll(tenant=tenant_a.ref, journey_id=main.id, actor="t", customers=[{"cdp_id": people["bob"]}])
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    row = Instance.objects.get(journey_id=main.id)
    assert row.status == "failed" and "not enrolled" in row.end_reason and "paused" in row.end_reason
    assert not Instance.objects.filter(journey_id=follow_up.id).exists()


def test_publishing_refuses_a_missing_journey_or_one_with_its_own_entry(tenant_a, t0):
    with pytest.raises(InvalidInput, match="no journey 999"):
        _main(tenant_a, 999)
    by_event = _publish(tenant_a, {"entry": {"type": "event", "event": "Order Completed"}, "start": "done", "holdout_percent": 0,
                                   "nodes": [{"id": "done", "type": "exit"}]})
    with pytest.raises(InvalidInput, match="give it a manual entry"):
        _main(tenant_a, by_event.id)
