"""A journey's update_trait action: traits set from the definition and from the journey's context
(the entry event's properties), one write for the batch, recorded once in the profile's change log
however often the tick is replayed; a suppressed customer's profile is left alone (the failure
policy), a computed trait or a bad name is refused when the journey is saved."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from customers.selectors import customer_get, profile_changes
from customers.services import computed_trait_create, customer_suppress
from journeys.models import Instance, InstanceStep
from journeys.services.journeys import journey_create, journey_enroll, journey_publish
from journeys.services.orchestrator import orchestrator_tick
from kernel.errors import InvalidInput

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def _journey(tenant_a, node: dict, **on_failure):
    definition = {"entry": {"type": "manual"}, "start": "mark", "holdout_percent": 0, "nodes": [
        {"id": "mark", "type": "update_trait", "next": "done", **node, **({"on_failure": on_failure} if on_failure else {})},
        {"id": "done", "type": "exit"}, *([{"id": "oops", "type": "exit"}] if on_failure.get("next") else [])]}
    info = journey_create(tenant=tenant_a.ref, name=f"mark {uuid.uuid4().hex[:6]}", definition=definition, actor="t")
    return journey_publish(tenant=tenant_a.ref, journey_id=info.id, actor="t")


def _traits(tenant_a, cdp_id) -> dict:
    return {t.key: t.value for t in customer_get(tenant=tenant_a.ref, cdp_id=cdp_id).traits}


def test_traits_are_set_from_the_definition_and_the_context_and_logged_once(tenant_a, people, t0):
    info = _journey(tenant_a, {"set": {"lifecycle": "onboarded", "score": 10}, "from_context": {"cart_value": "entry.value",
                                                                                               "missing": "entry.nothing"},
                               "unset": ["first_name"]})
    journey_enroll(tenant=tenant_a.ref, journey_id=info.id, actor="t", customers=[{"cdp_id": people["ada"]}, {"cdp_id": people["bob"]}],
                   context={"value": 42.5})
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    for who in ("ada", "bob"):
        traits = _traits(tenant_a, people[who])
        assert (traits["lifecycle"], traits["score"], traits["cart_value"]) == ("onboarded", 10, 42.5)
        assert "missing" not in traits and traits.get("first_name") is None  # nothing in the context: not written
    assert {i.status for i in Instance.objects.all()} == {"completed"}
    step = InstanceStep.objects.filter(node="mark").first()
    assert step.way == "next" and step.detail == {"set": ["cart_value", "lifecycle", "score"], "unset": ["first_name"]}
    changes = profile_changes(tenant=tenant_a.ref, cdp_id=people["ada"], limit=50, offset=0).items
    journey_changes = [c for c in changes if c.source == "journey"]
    assert sorted(c.key for c in journey_changes) == ["cart_value", "first_name", "lifecycle", "score"]
    assert {c.actor for c in journey_changes} == {f"journey:{info.id}"}
    # A replayed step (a tick killed after the write, before its commit) records nothing more.
    from customers.services import customers_traits_write
    from journeys.services.nodes import send_key

    row = Instance.objects.filter(cdp_id=people["ada"]).get()
    row.step = InstanceStep.objects.filter(instance=row, node="mark").get().step
    assert customers_traits_write(tenant=tenant_a.ref, updates={people["ada"]: {"lifecycle": "onboarded", "score": 10, "cart_value": 42.5}},
                                  unset=["first_name"], actor=f"journey:{info.id}", source="journey",
                                  change_keys={people["ada"]: send_key(row, "mark")}) == {}
    again = profile_changes(tenant=tenant_a.ref, cdp_id=people["ada"], limit=50, offset=0).items
    assert len([c for c in again if c.source == "journey"]) == 4


def test_a_suppressed_customers_profile_is_left_alone_and_takes_the_failure_exit(tenant_a, people, t0):
    info = _journey(tenant_a, {"set": {"lifecycle": "onboarded"}}, then="failure_exit", next="oops")
    customer_suppress(tenant=tenant_a.ref, cdp_id=people["cy"], actor="t")
    journey_enroll(tenant=tenant_a.ref, journey_id=info.id, actor="t", customers=[{"cdp_id": people["cy"]}, {"cdp_id": people["dee"]}])
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    assert Instance.objects.get(cdp_id=people["dee"]).node == "done"
    assert _traits(tenant_a, people["dee"])["lifecycle"] == "onboarded"
    suppressed = Instance.objects.get(cdp_id=people["cy"])
    assert suppressed.node == "oops" and "lifecycle" not in _traits(tenant_a, people["cy"])
    assert "suppressed" in InstanceStep.objects.get(instance=suppressed, node="mark").detail["error"]


def test_a_bad_trait_name_or_path_is_refused_when_the_journey_is_saved(tenant_a):
    for node, field in [({"set": {"x" * 200: 1}}, "nodes[mark].set.xxx"), ({"from_context": {"tier": "vars..x"}},
                                                                                   "nodes[mark].from_context.tier"),
                        ({}, "nodes[mark]"), ({"set": {"a": 1}, "unset": ["a"]}, "nodes[mark]")]:
        with pytest.raises(InvalidInput) as refused:
            _journey(tenant_a, node)
        assert any(e["field"].removeprefix("definition.").startswith(field) for e in refused.value.errors), (node, refused.value.errors)


def test_a_computed_trait_is_not_set_and_the_step_takes_its_failure_policy(tenant_a, people, t0):
    computed_trait_create(tenant=tenant_a.ref, actor="t", values={"name": "orders_total", "aggregation": "count", "event": "Order Completed"})
    info = _journey(tenant_a, {"set": {"orders_total": 3}})  # its values come from events: the policy (end) applies
    journey_enroll(tenant=tenant_a.ref, journey_id=info.id, actor="t", customers=[{"cdp_id": people["ada"]}])
    orchestrator_tick(now=t0 + timedelta(minutes=1))
    row = Instance.objects.get()
    assert row.status == "failed" and "orders_total: computed from events" in row.end_reason


def test_a_journey_test_says_what_it_would_set_and_writes_nothing(tenant_a, people, t0):
    from journeys.simulate import journey_test

    info = _journey(tenant_a, {"set": {"lifecycle": "onboarded"}, "unset": ["first_name"]})
    tried = journey_test(tenant=tenant_a.ref, journey_id=info.id, cdp_id=people["ada"], at=t0)
    step = next(s for s in tried["steps"] if s["node"] == "mark")
    assert step["detail"] == {"note": "not written in a test", "set": ["lifecycle"], "unset": ["first_name"]}
    assert "lifecycle" not in _traits(tenant_a, people["ada"]) and _traits(tenant_a, people["ada"])["first_name"] == "Ada"
