"""Journeys under /api/journeys: drafts, publishing, status, enrolments, instances, the report."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from identity.selectors import customer_named
from journeys import report, selectors, simulate
from journeys.services import journeys as services
from journeys.services import simulations, test_sends
from kernel.openapi import problems
from kernel.pagination import PageOut, PageParams
from tenancy.auth import TenantAuth

router = Router(tags=["journeys"], auth=TenantAuth("journeys"))

DEFINITION_HELP = ("The journey: entry (segment, event with an optional key, or manual), start, nodes (wait, wait_until, "
                   "wait_event, branch, split, send, exit), goal, exit rules, re-entry, limits and holdout_percent, as the "
                   "JourneyDefinition schema describes (docs/journeys.md). A draft may be incomplete; publishing checks it all.")
Definition = dict[str, Any]
EXAMPLE = {"entry": {"type": "event", "event": "Checkout Started", "key": "cartId"}, "start": "wait",
           "nodes": [{"id": "wait", "type": "wait_event", "timeout": {"hours": 4}, "timeout_next": "email",
                      "events": [{"event": "Order Completed", "match_key": True, "next": "done"}]},
                     {"id": "email", "type": "send", "channel_id": 1, "template_id": 1, "topic": "offers", "next": "done"},
                     {"id": "done", "type": "exit"}],
           "goal": {"event": "Order Completed", "match_key": True, "within": {"days": 3}}, "holdout_percent": 10}


class JourneyIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    definition: Definition = Field(..., examples=[EXAMPLE], description=DEFINITION_HELP)


class JourneyPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    definition: Definition | None = Field(None, description=DEFINITION_HELP + " Editing a published version makes a new draft.")


class JourneyOut(Schema):
    id: int
    name: str
    description: str
    status: str = Field(..., description="draft, active, paused or archived.")
    version: int = Field(..., description="The newest version (a draft being edited, or the live one).")
    live_version: int | None = Field(..., description="The version new entrants follow.")
    definition: dict[str, Any] = Field(..., description="The newest version's definition.")
    counts: dict[str, int] = Field(..., description="Instances by status: active, holdout, completed, exited, converted, failed.")
    created_by: str
    created_at: datetime
    updated_at: datetime


class JourneyListQuery(PageParams):
    status: Literal["", "draft", "active", "paused", "archived"] = ""
    q: str = Field("", max_length=200, description="Part of the name.")


class PublishIn(Schema):
    in_flight: Literal["stay", "move"] = Field("stay", description="Instances on older versions stay on theirs, or move to the "
                                                                  "node of the same id in this one.")
    node_map: dict[str, str] = Field(default_factory=dict, description="For `move`: old node id -> node of this version for nodes "
                                                                        "it no longer has ('' ends those instances).")


class ProblemOut(Schema):
    field: str
    message: str
    severity: str = Field(..., description="error (publishing refuses) or warning.")


class VersionOut(Schema):
    version: int
    definition: dict[str, Any]
    created_by: str
    created_at: datetime
    published_at: datetime | None
    published_by: str
    migration: dict[str, Any] = Field(..., description="What publishing did to instances in flight: policy, moved, ended.")


class EnrolleeIn(Schema):
    cdp_id: str = Field("", max_length=64, description="The customer's id; or name it by an identifier:")
    type: str = Field("", max_length=32, description="An identifier type (email, user_id, phone, ...).")
    value: str = Field("", max_length=1024)


class EnrollIn(Schema):
    customers: list[EnrolleeIn] = Field(default_factory=list, max_length=10_000, description="At least one.")
    key: str = Field("", max_length=200, description="The instance key, for keyed journeys.")
    context: dict[str, Any] = Field(default_factory=dict, description="Properties templates see as `event` (like an entry event's).")
    idempotency_key: str = Field("", max_length=100, description="The same customers, key and idempotency key enrol once however "
                                                                 "often sent; another key enrols again where re-entry allows.")


class EnrollOut(Schema):
    enrolled: int
    held_out: int
    refused: dict[str, int] = Field(..., description="Why the others did not enter: duplicate, already_in, entered_before, ...")
    unknown: list[str] = Field(..., description="The first 20 references that name no customer of this tenant.")
    unknown_count: int


class StepOut(Schema):
    step: int
    node: str = Field(..., description="Where it was ('' for the entry).")
    way: str = Field(..., description="entry, holdout, next, event:N, timeout, way:N, else, skipped, failure, goal, exit, ...")
    to_node: str
    at: datetime
    detail: dict[str, Any] = Field(..., description="Why: the event that resumed it, the send's key, the error.")


class InstanceOut(Schema):
    instance_id: str
    journey_id: int
    version: int
    cdp_id: str
    key: str
    node: str
    status: str = Field(..., description="active, holdout, completed, exited, converted or failed.")
    step: int
    entered_at: datetime
    arrived_at: datetime
    due_at: datetime | None = Field(..., description="When the orchestrator next looks at it.")
    ended_at: datetime | None
    end_reason: str
    converted_at: datetime | None
    context: dict[str, Any]
    steps: list[StepOut] = Field(..., description="Its history (in GET .../instances/{instance} only).")


class InstanceQuery(PageParams):
    node: str = Field("", max_length=40)
    status: Literal["", "active", "holdout", "completed", "exited", "converted", "failed"] = ""
    key: str = Field("", max_length=200)
    cdp_id: str = Field("", max_length=64)


class NodeResultOut(Schema):
    node: str
    arrived: int
    here: int
    moved_on: int
    ended: int
    median_seconds: float | None = Field(..., description="Median time from arriving to leaving by a way on.")


class VersionResultOut(Schema):
    version: int
    nodes: list[NodeResultOut]


class GroupOut(Schema):
    instances: int
    converted: int
    rate: float | None


class GoalOut(Schema):
    participants: GroupOut
    holdout: GroupOut
    lift: float | None = Field(..., description="Participants' conversion rate minus the holdout's.")
    interval95: list[float] | None = Field(..., description="[low, high] of the lift.")
    method: str


class ReportOut(Schema):
    journey_id: int
    versions: list[VersionResultOut]
    goal: GoalOut


class JourneyTestIn(Schema):
    customer: str = Field(..., min_length=1, max_length=1024, description="A cdp_id, email, user id, anonymous id or phone.")
    at: datetime | None = Field(None, description="The simulated clock's start (default: now).")
    choices: dict[str, int] = Field(default_factory=dict, description="For waits for events: node id -> the position of the event "
                                                                      "that comes (default: none comes, the timeout is taken).")
    context: dict[str, Any] = Field(default_factory=dict, description="The entry event's properties (templates see them as `event`).")
    key: str = Field("", max_length=200, description="The instance key, for keyed journeys.")
    version: int | None = Field(None, ge=1, le=1_000_000, description="A version to try (default: the newest, a draft too).")
    send_to: list[str] = Field(default_factory=list, max_length=5, description="Test addresses (an operator's inbox, a phone): each "
                                                                                "message rendered for the customer is sent to each, now.")


class TestSentOut(Schema):
    node: str
    to: str
    delivery_id: str = Field(..., description="Follow it at GET /api/messages/deliveries/{delivery_id}.")


class TestStepOut(Schema):
    at: datetime
    node: str
    way: str
    to_node: str
    detail: dict[str, Any] = Field(..., description="Why, and for a send the message rendered for the customer (`message.parts`).")


class JourneyTestOut(Schema):
    journey_id: int
    version: int
    cdp_id: str
    holdout: bool = Field(..., description="Whether this customer falls in the journey's holdout (they would receive nothing).")
    steps: list[TestStepOut]
    ended: str = Field(..., description="How it ended: completed, exited, converted, failed, or why it stopped.")
    sent: list[TestSentOut] = Field(default_factory=list, description="The test messages sent (with `send_to`).")


class SimulateIn(Schema):
    mode: Literal["backtest", "audience"] = Field(..., description="backtest: replay a past period's events; audience: today's "
                                                                   "customers, the clock moved forward through every wait.")
    version: int | None = Field(None, ge=1, le=1_000_000, description="The version to run (default: the live one, else the newest).")
    start: datetime | None = Field(None, description="backtest: the period's start (at most 92 days before its end).")
    end: datetime | None = Field(None, description="backtest: the period's end (default: now).")
    segment_id: int | None = Field(None, ge=1, description="audience: whose members enter (default: the entry segment).")
    sample: int = Field(1000, ge=1, le=10_000, description="audience: at most this many of them, the same ones each time.")
    days: int = Field(30, ge=1, le=365, description="audience: how far forward the clock runs.")


class SimulatedInstanceOut(Schema):
    cdp_id: str
    key: str
    status: str
    node: str
    holdout: bool
    entered_at: datetime
    ended_at: datetime | None


class SimulationResultOut(Schema):
    journey_id: int
    version: int
    mode: str
    start: datetime
    end: datetime
    ticks: int = Field(..., description="Orchestrator ticks run (only those at which something could happen).")
    truncated: bool = Field(..., description="Stopped at the tick limit before the end: the figures are as of `reached`.")
    reached: datetime
    entered: int
    held_out: int
    refused: dict[str, int] = Field(..., description="Entries refused, by reason (entered_before, already_in, entry_limit, ...).")
    statuses: dict[str, int] = Field(..., description="Instances by status at the end (active ones are still waiting).")
    sends: dict[str, int] = Field(..., description="Per send node, the messages it would have queued (none was).")
    report: ReportOut = Field(..., description="The journey's report as it would stand at the end.")
    instances: list[SimulatedInstanceOut] = Field(..., description="The first 100 instances by customer: who, where, how it ended.")


class SimulationOut(Schema):
    id: int
    mode: str
    version: int
    params: dict[str, Any] = Field(..., description="start and end (backtest); segment_id, sample and days (audience).")
    state: str = Field(..., description="queued, running, succeeded or failed (`error` says why).")
    error: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    result: SimulationResultOut | None = Field(..., description="Once succeeded: what the run did.")


class CustomerJourneyOut(Schema):
    journey_id: int
    name: str
    instance: InstanceOut


@router.get("", response=PageOut[JourneyOut], summary="Journeys, by name")
def journey_list(request: HttpRequest, query: Query[JourneyListQuery]):
    return selectors.journey_list(tenant=request.auth.tenant, limit=query.limit, offset=query.offset, status=query.status, q=query.q)


@router.post("", response={201: JourneyOut}, summary="Create a journey (a draft)", openapi_extra=problems(409))
def journey_create(request: HttpRequest, payload: JourneyIn):
    return Status(201, services.journey_create(tenant=request.auth.tenant, name=payload.name, description=payload.description,
                                               definition=payload.definition, actor=request.auth.actor))


@router.get("/{journey_id}", response=JourneyOut, openapi_extra=problems(404))
def journey_get(request: HttpRequest, journey_id: int):
    return selectors.journey_get(tenant=request.auth.tenant, journey_id=journey_id)


@router.patch("/{journey_id}", response=JourneyOut, summary="Change a journey; editing a published version makes a new draft",
              openapi_extra=problems(404, 409))
def journey_update(request: HttpRequest, journey_id: int, payload: JourneyPatch):
    return services.journey_update(tenant=request.auth.tenant, journey_id=journey_id, actor=request.auth.actor,
                                   changes=payload.model_dump(exclude_unset=True))


@router.get("/{journey_id}/problems", response=list[ProblemOut], summary="What stops the newest version from being published",
            openapi_extra=problems(404))
def journey_problems(request: HttpRequest, journey_id: int):
    journey = selectors.journey_get(tenant=request.auth.tenant, journey_id=journey_id)
    return services.publish_problems(tenant=request.auth.tenant, definition=journey.definition)


@router.post("/{journey_id}/publish", response=JourneyOut, summary="Publish the newest version (instances in flight stay or move)",
             openapi_extra=problems(404, 409))
def journey_publish(request: HttpRequest, journey_id: int, payload: PublishIn):
    return services.journey_publish(tenant=request.auth.tenant, journey_id=journey_id, actor=request.auth.actor,
                                    in_flight=payload.in_flight, node_map=payload.node_map)


@router.post("/{journey_id}/pause", response=JourneyOut, summary="Pause: no entries, instances wait where they are",
             openapi_extra=problems(404, 409))
def journey_pause(request: HttpRequest, journey_id: int):
    return services.journey_set_status(tenant=request.auth.tenant, journey_id=journey_id, actor=request.auth.actor, status="paused")


@router.post("/{journey_id}/resume", response=JourneyOut, summary="Resume a paused journey", openapi_extra=problems(404, 409))
def journey_resume(request: HttpRequest, journey_id: int):
    return services.journey_set_status(tenant=request.auth.tenant, journey_id=journey_id, actor=request.auth.actor, status="active")


@router.post("/{journey_id}/archive", response=JourneyOut, summary="Archive: every live instance ends", openapi_extra=problems(404, 409))
def journey_archive(request: HttpRequest, journey_id: int):
    return services.journey_set_status(tenant=request.auth.tenant, journey_id=journey_id, actor=request.auth.actor, status="archived")


@router.get("/{journey_id}/versions", response=list[VersionOut], summary="Every version, newest first", openapi_extra=problems(404))
def journey_versions(request: HttpRequest, journey_id: int):
    return selectors.journey_versions(tenant=request.auth.tenant, journey_id=journey_id)


@router.post("/{journey_id}/enroll", response=EnrollOut, summary="Enrol customers now (idempotent); the next tick moves them",
             openapi_extra=problems(404, 409))
def journey_enroll(request: HttpRequest, journey_id: int, payload: EnrollIn):
    counts = services.journey_enroll(tenant=request.auth.tenant, journey_id=journey_id, actor=request.auth.actor,
                                     customers=[c.model_dump() for c in payload.customers], key=payload.key, context=payload.context,
                                     idempotency_key=payload.idempotency_key)
    refused = {k: v for k, v in counts.items() if k not in ("enrolled", "held_out", "unknown", "unknown_count")}
    return {"enrolled": counts["enrolled"], "held_out": counts["held_out"], "refused": refused, "unknown": counts["unknown"],
            "unknown_count": counts["unknown_count"]}


@router.get("/{journey_id}/instances", response=PageOut[InstanceOut], summary="Instances, newest first (filter by node, status, key)",
            openapi_extra=problems(404))
def journey_instances(request: HttpRequest, journey_id: int, query: Query[InstanceQuery]):
    return selectors.journey_instances(tenant=request.auth.tenant, journey_id=journey_id, limit=query.limit, offset=query.offset,
                                       node=query.node, status=query.status, key=query.key, cdp_id=query.cdp_id)


@router.get("/{journey_id}/instances/{instance_id}", response=InstanceOut, summary="One instance with every step it took and why",
            openapi_extra=problems(404))
def journey_instance(request: HttpRequest, journey_id: int, instance_id: str):
    return selectors.instance_get(tenant=request.auth.tenant, journey_id=journey_id, instance_id=instance_id)


@router.get("/{journey_id}/report", response=ReportOut, summary="Per node: arrived, here, moved on, ended, median time; goal vs holdout",
            openapi_extra=problems(404))
def journey_report(request: HttpRequest, journey_id: int):
    return report.journey_report(tenant=request.auth.tenant, journey_id=journey_id)


@router.post("/{journey_id}/test", response=JourneyTestOut, summary="Try the journey on one customer with a simulated clock",
             description="Each step the nodes would take for this customer, the clock moved past every wait, and each message "
             "rendered for them; nothing is sent, written or called, unless `send_to` names test addresses: then each message, as "
             "rendered for the customer, is sent to each of them (transactional, now). Needs editor, as every POST does; the "
             "console's form, a GET, lets viewers try without sending.", openapi_extra=problems(404))
def journey_test(request: HttpRequest, journey_id: int, payload: JourneyTestIn):
    tenant = request.auth.tenant
    cdp_id = customer_named(tenant=tenant, who=payload.customer) or payload.customer
    asked = {"at": payload.at, "choices": payload.choices, "context": payload.context, "key": payload.key, "version": payload.version}
    if payload.send_to:
        return test_sends.journey_test_send(tenant=tenant, journey_id=journey_id, cdp_id=cdp_id, actor=request.auth.actor,
                                            addresses=payload.send_to, **asked)
    return simulate.journey_test(tenant=tenant, journey_id=journey_id, cdp_id=cdp_id, **asked)


@router.post("/{journey_id}/simulate", response={202: SimulationOut}, summary="Run a version without sending: a backtest over "
             "past events, or today's audience", description="Checked at once, then run by a worker: poll GET "
             "/api/journeys/{id}/simulations/{simulation_id} until its state is succeeded or failed. The real orchestrator's ticks "
             "in a transaction rolled back at the end: who would have entered, where they would be, how many sends each node would "
             "have queued, how many would have converted (docs/journeys.md#simulation).", openapi_extra=problems(404))
def journey_simulate(request: HttpRequest, journey_id: int, payload: SimulateIn):
    return Status(202, simulations.simulation_queue(
        tenant=request.auth.tenant, journey_id=journey_id, actor=request.auth.actor, mode=payload.mode, version=payload.version,
        start=payload.start, end=payload.end, segment_id=payload.segment_id, sample=payload.sample, days=payload.days))


@router.get("/{journey_id}/simulations", response=list[SimulationOut], summary="The journey's last 20 simulations, newest first",
            openapi_extra=problems(404))
def journey_simulations(request: HttpRequest, journey_id: int):
    return selectors.journey_simulations(tenant=request.auth.tenant, journey_id=journey_id)


@router.get("/{journey_id}/simulations/{simulation_id}", response=SimulationOut, summary="One simulation: its state, then its result",
            openapi_extra=problems(404))
def journey_simulation(request: HttpRequest, journey_id: int, simulation_id: int):
    return selectors.simulation_get(tenant=request.auth.tenant, journey_id=journey_id, simulation_id=simulation_id)


customer_router = Router(tags=["journeys"], auth=TenantAuth("journeys"))


@customer_router.get("/{cdp_id}/journeys", response=list[CustomerJourneyOut], summary="The journeys a customer is in or was in")
def customer_journeys(request: HttpRequest, cdp_id: str):
    return selectors.customer_journeys(tenant=request.auth.tenant, cdp_id=cdp_id)
