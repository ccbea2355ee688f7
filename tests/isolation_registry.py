"""How to make an object of each kind an API path names, inside a given tenant.

The isolation matrix walks every operation in the OpenAPI schema; an operation whose path has
parameters needs an entry here, or the matrix fails and names the path, so no endpoint joins
the API without its cross-tenant check.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable

from tenancy import services
from tenancy.roles import Role


def _member(tenant) -> dict:
    info = services.member_set(tenant=tenant.ref, email=f"member-of-{tenant.slug}@example.com", role=Role.EDITOR, actor="test")
    return {"member_id": info.id}


def _api_key(tenant) -> dict:
    info, _ = services.api_key_create(tenant=tenant.ref, name=f"marker-{tenant.slug}-apikey", role=Role.VIEWER, actor="test")
    return {"key_pk": info.id}


def _write_key(tenant) -> dict:
    info, _ = services.write_key_create(tenant=tenant.ref, name=f"marker-{tenant.slug}-writekey", actor="test")
    return {"key_pk": info.id}


def _customer(tenant) -> dict:
    from customers.services import customer_identify

    profile = customer_identify(tenant=tenant.ref, user_id=f"user-of-{tenant.slug}", anonymous_id=None, email=f"marker-{tenant.slug}@example.com",
                                traits={"name": f"marker-{tenant.slug}-customer"}, actor="test")
    return {"cdp_id": profile.cdp_id}


def _computed_trait(tenant) -> dict:
    from customers.services.computed_traits import computed_trait_create

    info = computed_trait_create(tenant=tenant.ref, actor="test", values={
        "name": f"orders_{uuid.uuid4().hex[:8]}", "aggregation": "count", "description": f"marker-{tenant.slug}-computed-trait"})
    return {"trait_id": info.id}


def _identity_run(tenant) -> dict:
    from identity.services import run_start

    return {"run_id": run_start(tenant=tenant.ref, kind="full", trigger=f"marker-{tenant.slug}-run").id}


def _block(tenant) -> dict:
    from customers.services import profiles_follow
    from identity.selectors import block_page
    from identity.services import customer_unmerge

    cdp_id = _customer(tenant)["cdp_id"]
    customer_unmerge(tenant=tenant.ref, cdp_id=cdp_id, id_type="email", id_value=f"marker-{tenant.slug}@example.com",
                     reason=f"marker-{tenant.slug}-block", actor="test", on_moved=profiles_follow)
    return {"block_id": block_page(tenant=tenant.ref, limit=1, offset=0).items[0]["id"]}


def _segment(tenant) -> dict:
    from segments.services import segment_create

    info = segment_create(tenant=tenant.ref, name=f"marker-{tenant.slug}-segment-{uuid.uuid4().hex[:6]}", actor="test",
                          definition={"type": "identifier", "id_type": "user_id"})
    return {"segment_id": info.id}


def _journey(tenant) -> dict:
    from journeys.models import Instance, Simulation
    from journeys.services.journeys import journey_create, journey_enroll, journey_publish

    info = journey_create(tenant=tenant.ref, name=f"marker-{tenant.slug}-journey-{uuid.uuid4().hex[:6]}", actor="test",
                          definition={"entry": {"type": "manual"}, "start": "done", "nodes": [{"id": "done", "type": "exit"}],
                                      "holdout_percent": 0})
    journey_publish(tenant=tenant.ref, journey_id=info.id, actor="test")
    journey_enroll(tenant=tenant.ref, journey_id=info.id, actor="test", customers=[_customer(tenant)])
    simulation = Simulation.objects.create(journey_id=info.id, tenant_id=tenant.ref.id, mode="audience", version=1, created_by="test")
    return {"journey_id": info.id, "instance_id": Instance.objects.get(journey_id=info.id).instance_id, "simulation_id": simulation.id}


def _campaign(tenant) -> dict:
    from campaigns.services.campaigns import campaign_create
    from messaging.services.channels import channel_create
    from messaging.services.templates import template_create

    channel = channel_create(tenant=tenant.ref, name=f"marker-{tenant.slug}-cchannel-{uuid.uuid4().hex[:6]}", kind="table", actor="test",
                             config={})
    template = template_create(tenant=tenant.ref, name=f"marker-{tenant.slug}-ctemplate-{uuid.uuid4().hex[:6]}", channel_kind="table",
                               actor="test", parts={"payload": "{}"})
    segment = _segment(tenant)["segment_id"]
    info = campaign_create(tenant=tenant.ref, name=f"marker-{tenant.slug}-campaign-{uuid.uuid4().hex[:6]}", actor="test",
                           definition={"audience": {"segments": [segment]}, "channel_id": channel.id, "category": "transactional",
                                       "variants": [{"key": "A", "template_id": template.id}]})
    return {"campaign_id": info.id}


def _channel(tenant) -> dict:
    from messaging.services.channels import channel_create

    info = channel_create(tenant=tenant.ref, name=f"marker-{tenant.slug}-channel-{uuid.uuid4().hex[:6]}", kind="webhook", actor="test",
                          config={"url": "https://hooks.example.com/cdp"})
    return {"channel_id": info.id}


def _template(tenant) -> dict:
    from messaging.services.templates import template_create

    info = template_create(tenant=tenant.ref, name=f"marker-{tenant.slug}-template-{uuid.uuid4().hex[:6]}", channel_kind="webhook",
                           parts={"body": f'{{"marker": "marker-{tenant.slug}-template"}}'}, actor="test")
    return {"template_id": info.id}


def _topic(tenant) -> dict:
    from messaging.services.topics import topic_create

    topic = topic_create(tenant=tenant.ref, key=f"t{uuid.uuid4().hex[:8]}", name=f"marker-{tenant.slug}-topic", channel_kind="email",
                         policy="opt_in", actor="test")
    return {"topic_id": topic.id}


def _delivery(tenant) -> dict:
    from messaging.services.outbox import delivery_enqueue
    from messaging.types import SendRequest

    info, _ = delivery_enqueue(tenant=tenant.ref, request=SendRequest(
        key=f"marker-{tenant.slug}-delivery-{uuid.uuid4().hex[:6]}", channel_id=_channel(tenant)["channel_id"],
        template_id=_template(tenant)["template_id"], cdp_id=_customer(tenant)["cdp_id"], category="transactional"))
    return {"delivery_id": info.id}


def _suppression(tenant) -> dict:
    from messaging.services.feedback import suppression_add

    info = suppression_add(tenant=tenant.ref, kind="email", address=f"marker-{tenant.slug}-{uuid.uuid4().hex[:6]}@example.com",
                           reason="test", actor="test")
    return {"suppression_id": info.id}


def _segment_and_customer(tenant) -> dict:
    return {**_segment(tenant), **_customer(tenant)}


FACTORIES: dict[str, Callable[[object], dict]] = {
    "/api/customers/{cdp_id}": _customer,
    "/api/customers/{cdp_id}/events": _customer,
    "/api/customers/{cdp_id}/changes": _customer,
    "/api/customers/{cdp_id}/export": _customer,
    "/api/customers/{cdp_id}/consent": _customer,
    "/api/customers/{cdp_id}/suppress": _customer,
    "/api/customers/{cdp_id}/unsuppress": _customer,
    "/api/customers/{cdp_id}/erase": _customer,
    "/api/customers/computed-traits/{trait_id}": _computed_trait,
    "/api/customers/computed-traits/{trait_id}/refresh": _computed_trait,
    "/api/identity/customers/{cdp_id}/graph": _customer,
    "/api/identity/customers/{cdp_id}/unmerge": _customer,
    "/api/identity/runs/{run_id}": _identity_run,
    "/api/identity/blocks/{block_id}/unblock": _block,
    "/api/segments/{segment_id}": _segment,
    "/api/segments/{segment_id}/refresh": _segment,
    "/api/segments/{segment_id}/members": _segment,
    "/api/segments/{segment_id}/history": _segment,
    "/api/segments/{segment_id}/runs": _segment,
    "/api/segments/{segment_id}/members/import": _segment,
    "/api/segments/{segment_id}/members.csv": _segment,
    "/api/segments/{segment_id}/exports": _segment,
    "/api/segments/{segment_id}/explain/{cdp_id}": _segment_and_customer,
    "/api/customers/{cdp_id}/segments": _customer,
    "/api/customers/{cdp_id}/messages": _customer,
    "/api/messaging/channels/{channel_id}": _channel,
    "/api/messaging/channels/{channel_id}/rotate": _channel,
    "/api/messaging/templates/{template_id}": _template,
    "/api/messaging/templates/{template_id}/versions": _template,
    "/api/messaging/templates/{template_id}/preview": _template,
    "/api/messaging/topics/{topic_id}": _topic,
    "/api/messaging/deliveries/{delivery_id}": _delivery,
    "/api/messaging/suppressions/{suppression_id}": _suppression,
    "/api/journeys/{journey_id}": _journey,
    "/api/journeys/{journey_id}/problems": _journey,
    "/api/journeys/{journey_id}/publish": _journey,
    "/api/journeys/{journey_id}/pause": _journey,
    "/api/journeys/{journey_id}/resume": _journey,
    "/api/journeys/{journey_id}/archive": _journey,
    "/api/journeys/{journey_id}/versions": _journey,
    "/api/journeys/{journey_id}/enroll": _journey,
    "/api/journeys/{journey_id}/instances": _journey,
    "/api/journeys/{journey_id}/instances/{instance_id}": _journey,
    "/api/journeys/{journey_id}/report": _journey,
    "/api/journeys/{journey_id}/test": _journey,
    "/api/journeys/{journey_id}/simulate": _journey,
    "/api/journeys/{journey_id}/simulations": _journey,
    "/api/journeys/{journey_id}/simulations/{simulation_id}": _journey,
    "/api/customers/{cdp_id}/journeys": _customer,
    **{f"/api/campaigns/{{campaign_id}}{tail}": _campaign
       for tail in ("", "/schedule", "/approve", "/pause", "/resume", "/cancel", "/duplicate", "/test-send", "/recipients", "/deliveries",
                    "/report")},
    "/api/members/{member_id}": _member,
    "/api/members/{member_id}/password-link": _member,
    "/api/api-keys/{key_pk}": _api_key,
    "/api/write-keys/{key_pk}": _write_key,
}


# Operations found by query parameters: how to name tenant A's object in the query.
QUERIES: dict[str, Callable[[object], dict]] = {
    "/api/identity/resolve": lambda tenant: (_customer(tenant), {"type": "email", "value": f"marker-{tenant.slug}@example.com"})[1],
    "/api/customers/lookup": lambda tenant: (_customer(tenant), {"type": "email", "value": f"marker-{tenant.slug}@example.com"})[1],
}


def markers(tenant) -> list[str]:
    """Strings that only the tenant's own data contains; lists of other tenants must not show them."""
    return [f"marker-{tenant.slug}", f"member-of-{tenant.slug}", f"{tenant.slug}-admin-key", tenant.ref.name]
