"""A journey tried on one customer with a simulated clock, sending nothing: each step the real
nodes would take for them (the same decisions as a tick: branches on their data, splits on the
same hash, time-of-day waits in their zone), with the clock moved past every wait, and each
message rendered for them as it would be sent.

Waits for events take the way the caller chooses (`choices`: node id -> the event's position),
else their timeout; a webhook is not called (its answer is unknown), so it goes on with no
variables; a trait update is not written (the step says what it would set). Conditions read the customer's data as it is now, at the simulated clock (what a
time-relative condition would say then)."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from django.utils import timezone

from identity.selectors import live_customers
from journeys.graph import Flow
from journeys.models import JourneyVersion
from journeys.selectors import journey_row
from journeys.services.enrol import held_out
from journeys.services.nodes import Batch, decide, send_key
from journeys.services.orchestrator import Standing
from kernel.errors import InvalidInput, NotFound
from lakehouse.functions import bucket
from messaging.selectors import template_render
from tenancy.types import TenantRef

MAX_STEPS = 100


def journey_test(*, tenant: TenantRef, journey_id: int, cdp_id: str, at: datetime | None = None, choices: dict | None = None,
                 context: dict | None = None, key: str = "", version: int | None = None, sends: list | None = None) -> dict:
    """The steps the journey (its newest version, or `version`) would take for `cdp_id` from `at`;
    each send it would queue is appended to `sends` as (node id, SendRequest), for a test send."""
    row = journey_row(tenant, journey_id)
    number = version or row.version
    stored = JourneyVersion.objects.filter(journey=row, version=number).first()
    if stored is None:
        raise NotFound(f"{row.name} has no version {number}.", errors=[{"field": "version", "message": "no such version"}])
    if not live_customers(tenant=tenant, cdp_ids=[cdp_id]):
        raise NotFound(f"No customer {cdp_id} in this tenant.", errors=[{"field": "customer", "message": "no such customer"}])
    flow = Flow(stored.definition, journey_id=row.id, version=number, name=row.name)
    clock = (at or timezone.now()).astimezone(UTC)
    instance_id = f"test_{cdp_id}"
    standing = Standing(id=0, instance_id=instance_id, journey_id=row.id, version=number, cdp_id=cdp_id, key=key, node=flow.spec.start,
                        step=1, entered_at=clock, arrived_at=clock, due_at=clock, wait_set=False, retries=0,
                        context={"entry": context or {}, "vars": {}}, bucket=bucket(instance_id))
    steps = [{"at": clock, "node": "", "way": "entry", "to_node": flow.spec.start, "detail": {}}]
    out = {"journey_id": row.id, "version": number, "cdp_id": cdp_id,
           "holdout": held_out(tenant, row.id, cdp_id, flow.spec.holdout_percent), "steps": steps, "ended": ""}
    for _ in range(MAX_STEPS):
        node = flow.node(standing.node)
        if node is None:
            out["ended"] = f"node {standing.node} is missing"
            break
        standing, clock, step, ended = _step(tenant, flow, node, standing, clock, choices or {}, sends)
        if step:
            steps.append(step)
        if ended:
            out["ended"] = ended
            break
    else:
        out["ended"] = f"stopped after {MAX_STEPS} steps"
    return out


def _step(tenant: TenantRef, flow: Flow, node, standing: Standing, clock: datetime, choices: dict, sends: list | None):
    if node.type == "wait":
        clock = standing.arrived_at + node.duration.delta
    if node.type == "wait_event":
        choice = choices.get(node.id)
        if choice is not None:
            if not isinstance(choice, int) or not 0 <= choice < len(node.events):
                raise InvalidInput(f"{node.id} waits for {len(node.events)} events: choose 0 to {len(node.events) - 1}.",
                                   errors=[{"field": f"choices.{node.id}", "message": "an event's position"}])
            awaited = node.events[choice]
            return _moved(standing, clock, node.id, f"event:{choice}", awaited.next, {"event": awaited.event, "chosen": True})
        clock = standing.arrived_at + node.timeout.delta
    if node.type == "webhook":
        return _moved(standing, clock, node.id, "next", node.next, {"note": "not called in a test: no answer, no variables"})
    if node.type == "enroll":
        return _moved(standing, clock, node.id, "next", node.next, {"note": "not enrolled in a test", "journey_id": node.journey_id})
    if node.type == "update_trait":  # a test changes nothing: it says what would be written
        return _moved(standing, clock, node.id, "next", node.next, {"note": "not written in a test", "set": sorted({*node.set, *node.from_context}),
                                                                   "unset": node.unset})
    move = decide(Batch(tenant=tenant, flow=flow, node=node, instances=[standing], now=clock))[0]
    if move.hold_until is not None:  # a time-of-day or date wait: the clock moves to it
        return replace(standing, due_at=move.hold_until, wait_set=True), move.hold_until, None, ""
    detail = {**move.detail, **({"reason": move.reason} if move.reason else {})}
    request = move.queue.request(standing) if move.queue is not None else move.send
    if request is not None:
        detail["message"] = _rendered(tenant, request, standing)
        detail["key"] = send_key(standing, node.id)
        if sends is not None and "error" not in detail["message"]:
            sends.append((node.id, request))
    if move.end:
        step = {"at": clock, "node": node.id, "way": move.way, "to_node": "", "detail": detail}
        return standing, clock, step, move.end
    return _moved(standing, clock, node.id, move.way, move.to, detail)


def _moved(standing: Standing, clock: datetime, node: str, way: str, to: str, detail: dict):
    step = {"at": clock, "node": node, "way": way, "to_node": to, "detail": detail}
    return replace(standing, node=to, step=standing.step + 1, arrived_at=clock, due_at=clock, wait_set=False), clock, step, ""


def _rendered(tenant: TenantRef, request, standing: Standing) -> dict:
    try:
        rendered = template_render(tenant=tenant, template_id=request.template_id, cdp_id=standing.cdp_id, variables=request.variables)
    except (InvalidInput, NotFound) as exc:
        return {"error": exc.detail}
    return {"channel_id": request.channel_id, "template_id": rendered["template_id"], "version": rendered["version"],
            "parts": rendered["parts"]}
