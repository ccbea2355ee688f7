"""A journey version's definition: entry, settings and a graph of nodes, as validated JSON.

    {"entry": {"type": "event", "event": "Checkout Started", "key": "cartId"},
     "start": "wait",
     "nodes": [{"id": "wait", "type": "wait_event", "timeout": {"hours": 4}, "timeout_next": "email",
                "events": [{"event": "Order Completed", "match_key": true, "next": "done"}]},
               {"id": "email", "type": "send", "channel_id": 1, "template_id": 2, "topic": "offers", "next": "done"},
               {"id": "done", "type": "exit"}],
     "goal": {"event": "Order Completed", "match_key": true, "within": {"days": 3}},
     "holdout_percent": 10}

The pydantic models are the schema published in the OpenAPI document. `structure_errors` checks
what the definition alone decides (each error names its node: `nodes[wait].timeout_next`);
`journeys.services.journeys.publish_problems` adds what needs the tenant (templates, channels,
segments, events seen).
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from kernel.cron import cron_problem
from kernel.definitions import Duration, Strict
from kernel.segment.calls import TRAIT_KEY_MESSAGE, trait_key_problem
from kernel.timezones import zone_named
from segments.definitions import EventStep, PropertyFilter, definition_errors

NODE_ID = r"^[A-Za-z0-9_-]{1,40}$"
VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
PATH = re.compile(r"^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,9}$")
MAX_NODES = 100


# --- entry --------------------------------------------------------------------------------------

class SegmentEntry(Strict):
    type: Literal["segment"]
    segment_id: int = Field(..., ge=1, description="Customers enter when the segment's refresh adds them.")


class EventEntry(EventStep):
    type: Literal["event"]
    key: str = Field("", max_length=64, description="An event property (cartId, orderId): one instance per customer "
                                                     "and value, and waits and the goal may match it.")


class ScheduleEntry(Strict):
    """Every member of a segment enters at each moment of a cron (a weekly digest's audience):
    the re-entry policy decides who may enter again. A moment missed while the orchestrator was
    away is caught up once (the latest one), not once per moment missed."""
    type: Literal["schedule"]
    segment_id: int = Field(..., ge=1)
    cron: str = Field(..., max_length=100, description="Minute hour day month weekday, e.g. 0 9 * * 1 (Mondays 09:00).")
    timezone: str = Field("", max_length=64, description="The cron's time zone (empty: the tenant's).")


class ManualEntry(Strict):
    type: Literal["manual"] = Field(..., description="Customers are enrolled by the API, the console or another journey.")


Entry = Annotated[SegmentEntry | EventEntry | ScheduleEntry | ManualEntry, Field(discriminator="type")]


# --- nodes --------------------------------------------------------------------------------------

class _Node(Strict):
    id: str = Field(..., pattern=NODE_ID)
    label: str = Field("", max_length=200)


class WaitNode(_Node):
    """Wait a duration, counted from when the instance arrived (after downtime, from then too)."""
    type: Literal["wait"]
    duration: Duration
    next: str


class WaitUntilNode(_Node):
    """Wait until a time of day on allowed weekdays in the customer's time zone (trait `timezone`,
    else the tenant's); or until a date trait plus an offset (`trait`, `offset`: "2 days before
    renewal_date" is `{"days": -2}` as `offset_days`)."""
    type: Literal["wait_until"]
    at: str = Field("", pattern=r"^$|^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM local time.")
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4, 5, 6], description="0 is Monday.")
    trait: str = Field("", max_length=128, description="A date trait to wait for instead of a time of day.")
    offset_days: int = Field(0, ge=-3650, le=3650)
    next: str
    missing_next: str = Field("", description="Where to go when the trait is not a date (default: the exit).")


class AwaitedEvent(EventStep):
    match_key: bool = Field(False, description="Only an event whose property named by the entry's key equals this instance's key.")
    next: str


class WaitEventNode(_Node):
    """Wait for any of several events (each its own way on), at most `timeout`."""
    type: Literal["wait_event"]
    events: list[AwaitedEvent] = Field(..., min_length=1, max_length=10)
    timeout: Duration
    timeout_next: str


class BranchWay(Strict):
    condition: dict | None = Field(None, description="A segment definition (traits, events, segments...) at the time of the step.")
    variables: list[PropertyFilter] = Field(default_factory=list, max_length=10,
                                            description="Filters on the journey's context: `entry.<property>`, `vars.<name>`.")
    next: str


class BranchNode(_Node):
    """The first way whose conditions all hold, else `else`."""
    type: Literal["branch"]
    ways: list[BranchWay] = Field(..., min_length=1, max_length=10)
    else_: str = Field(..., alias="else")


class SplitWay(Strict):
    percent: float = Field(..., gt=0, le=100)
    next: str


class SplitNode(_Node):
    """Random shares by a deterministic hash of the instance (stable on every replay)."""
    type: Literal["split"]
    ways: list[SplitWay] = Field(..., min_length=2, max_length=10)


class OnFailure(Strict):
    retries: int = Field(0, ge=0, le=10, description="Ticks to try again before the policy applies.")
    then: Literal["continue", "failure_exit", "end"] = "end"
    next: str = Field("", description="The failure exit's node (then = failure_exit).")


class SendNode(_Node):
    """Queue a message in messaging's outbox (consent, topics, caps, quiet hours are decided there)."""
    type: Literal["send"]
    channel_id: int = Field(..., ge=1)
    template_id: int = Field(..., ge=1)
    category: Literal["marketing", "transactional"] = "marketing"
    topic: str = Field("", max_length=100)
    skip_if: dict | None = Field(None, description="A segment definition: when it holds, the send is skipped and the instance moves on.")
    on_failure: OnFailure = Field(default_factory=OnFailure)
    next: str


class WebhookNode(_Node):
    """Call a webhook through messaging (a webhook channel and template; sent as transactional,
    with messaging's retries and backoff) and wait for its answer, kept as journey variables:
    `vars.<node id>.status`, and each name of `save` from a dotted path in the JSON answer. A call
    that fails, or no answer within `timeout`, takes the failure policy (`retries` do not apply:
    messaging retried already)."""
    type: Literal["webhook"]
    channel_id: int = Field(..., ge=1)
    template_id: int = Field(..., ge=1)
    save: dict[str, str] = Field(default_factory=dict, description="Variable name -> dotted path in the JSON answer (result.tier).")
    timeout: Duration = Field(default_factory=lambda: Duration(hours=1))
    on_failure: OnFailure = Field(default_factory=OnFailure)
    next: str


class UpdateTraitNode(_Node):
    """Set or unset traits on the customer's profile (as the journey, in the profile's change
    log): values given here, or taken from the journey's context (`vars.tier` from a webhook's
    answer, `entry.plan` from the entry event). A suppressed customer's profile is left alone
    (the failure policy applies); computed traits cannot be set."""
    type: Literal["update_trait"]
    set: dict[str, Any] = Field(default_factory=dict, max_length=20, description="Trait name -> JSON value.")
    from_context: dict[str, str] = Field(default_factory=dict, max_length=20,
                                         description="Trait name -> a path in the journey's context (vars.tier, entry.plan).")
    unset: list[str] = Field(default_factory=list, max_length=20)
    on_failure: OnFailure = Field(default_factory=OnFailure)
    next: str

    @model_validator(mode="after")
    def _does_something(self):
        if not (self.set or self.from_context or self.unset):
            raise ValueError("an update_trait node sets, copies or unsets at least one trait")
        if set(self.unset) & (set(self.set) | set(self.from_context)):
            raise ValueError("a trait cannot be set and unset by one node")
        return self


class EnrollNode(_Node):
    """Enrol the customer in another journey (one with a manual entry, active), as its API would,
    and go on here. The other journey's own rules decide (re-entry, limits, its holdout); the
    instance's key and entry properties go along unless told otherwise. Once per step, however
    often a tick replays. A journey that is not there or not active takes the failure policy."""
    type: Literal["enroll"]
    journey_id: int = Field(..., ge=1)
    pass_key: bool = Field(True, description="The new instance gets this one's key.")
    pass_entry: bool = Field(True, description="The new instance's entry properties are this one's.")
    on_failure: OnFailure = Field(default_factory=OnFailure)
    next: str


class ExitNode(_Node):
    type: Literal["exit"]


Node = Annotated[WaitNode | WaitUntilNode | WaitEventNode | BranchNode | SplitNode | SendNode | WebhookNode | UpdateTraitNode | EnrollNode
                 | ExitNode,
                 Field(discriminator="type")]
WAITS = ("wait", "wait_until", "wait_event")
ACTIONS = ("send", "webhook", "update_trait", "enroll")  # nodes that do something, each with a failure policy


# --- settings -----------------------------------------------------------------------------------

class Goal(EventStep):
    within: Duration = Field(..., description="Counted from entry.")
    match_key: bool = False


class ExitRules(Strict):
    events: list[EventStep] = Field(default_factory=list, max_length=10, description="Any of these ends the instance.")
    on_segment_exit: bool = Field(False, description="End it when the customer leaves the entry segment.")


class Reentry(Strict):
    policy: Literal["once", "after", "always"] = "once"
    after_days: int = Field(0, ge=0, le=3650)


class Limits(Strict):
    max_concurrent: int = Field(1, ge=1, le=100, description="Instances of one customer at once (keyed entries: one per key).")
    lifetime_days: int = Field(90, ge=1, le=3650, description="An instance still in the journey after this ends.")
    entries_total: int | None = Field(None, ge=1)
    entries_per_hour: int | None = Field(None, ge=1)
    sends_per_minute: int | None = Field(None, ge=1, le=1_000_000, description="Messages the journey's send steps queue in a "
                                         "minute (of the orchestrator's clock); the rest wait at their step for the next minute.")


class Definition(Strict):
    entry: Entry
    start: str
    nodes: list[Node] = Field(..., min_length=1, max_length=MAX_NODES)
    goal: Goal | None = None
    exit: ExitRules = Field(default_factory=ExitRules)
    reentry: Reentry = Field(default_factory=Reentry)
    limits: Limits = Field(default_factory=Limits)
    holdout_percent: float = Field(5, ge=0, le=50, description="Set aside at entry (deterministic by customer); receives nothing.")


def parsed(definition: dict) -> Definition:
    return Definition.model_validate(definition)


def successors(node) -> list[tuple[str, str]]:
    """(way, next node) pairs of a node, in order."""
    if node.type in ("wait", "wait_until"):
        pairs = [("next", node.next)]
        if node.type == "wait_until" and node.missing_next:
            pairs.append(("missing", node.missing_next))
        return pairs
    if node.type == "wait_event":
        return [*((f"event:{i}", e.next) for i, e in enumerate(node.events)), ("timeout", node.timeout_next)]
    if node.type == "branch":
        return [*((f"way:{i}", w.next) for i, w in enumerate(node.ways)), ("else", node.else_)]
    if node.type == "split":
        return [(f"way:{i}", w.next) for i, w in enumerate(node.ways)]
    if node.type in ACTIONS:
        pairs = [("next", node.next)]
        if node.on_failure.then == "failure_exit" and node.on_failure.next:
            pairs.append(("failure", node.on_failure.next))
        return pairs
    return []


def schema_errors(definition: Any) -> list[dict]:
    """Where a definition is not of the schema (what a draft must be), each error naming its node."""
    if not isinstance(definition, dict):
        return [{"field": "definition", "message": "a JSON object"}]
    try:
        parsed(definition)
    except ValidationError as exc:
        return [{"field": _located(definition, e["loc"]), "message": e["msg"]} for e in exc.errors()]
    return []


def structure_errors(definition: Any) -> list[dict]:
    """What is wrong with a definition on its own (what publishing needs), each error naming the
    node (`nodes[email].next`)."""
    errors = schema_errors(definition)
    if errors:
        return errors
    spec = parsed(definition)
    errors, ids = [], {}
    for node in spec.nodes:
        if node.id in ids:
            errors.append({"field": f"nodes[{node.id}]", "message": "two nodes have this id"})
        ids[node.id] = node
    if spec.start not in ids:
        errors.append({"field": "start", "message": f"no node {spec.start!r}"})
    for node in spec.nodes:
        errors += _node_errors(node, ids)
    if spec.goal and spec.goal.match_key and not _keyed(spec):
        errors.append({"field": "goal.match_key", "message": "the entry has no key to match"})
    if spec.entry.type == "schedule":
        problem = cron_problem(spec.entry.cron)
        if problem:
            errors.append({"field": "entry.cron", "message": problem})
        if spec.entry.timezone and zone_named(spec.entry.timezone).key != spec.entry.timezone:
            errors.append({"field": "entry.timezone", "message": "an IANA time zone such as Europe/Paris"})
    if spec.exit.on_segment_exit and spec.entry.type != "segment":
        errors.append({"field": "exit.on_segment_exit", "message": "the entry is not a segment"})
    if errors:
        return errors
    reachable = _reachable(spec.start, ids)
    errors += [{"field": f"nodes[{n}]", "message": "unreachable from the start"} for n in ids if n not in reachable]
    cycle = _cycle_without_wait(ids)
    if cycle:
        errors.append({"field": f"nodes[{cycle[0]}]", "message": f"a loop without a wait: {' → '.join(cycle)}"})
    return errors


def _node_errors(node, ids: dict) -> list[dict]:
    errors = [{"field": f"nodes[{node.id}].{way.split(':')[0]}", "message": f"no node {target!r}"}
              for way, target in successors(node) if target not in ids]
    if node.type == "split" and abs(sum(w.percent for w in node.ways) - 100) > 1e-9:
        errors.append({"field": f"nodes[{node.id}].ways", "message": "the percentages add up to 100"})
    if node.type in ("wait", "wait_event"):
        delta = (node.duration if node.type == "wait" else node.timeout).delta
        if delta <= timedelta(0):
            errors.append({"field": f"nodes[{node.id}].{'duration' if node.type == 'wait' else 'timeout'}", "message": "longer than zero"})
    if node.type == "wait_until":
        if bool(node.at) == bool(node.trait):
            errors.append({"field": f"nodes[{node.id}]", "message": "either a time of day (at) or a date trait (trait)"})
        if not node.weekdays or any(d not in range(7) for d in node.weekdays):
            errors.append({"field": f"nodes[{node.id}].weekdays", "message": "days 0 (Monday) to 6"})
    if node.type == "branch":
        for i, way in enumerate(node.ways):
            if way.condition is None and not way.variables:
                errors.append({"field": f"nodes[{node.id}].ways[{i}]", "message": "a condition or variable filters"})
            if way.condition is not None:
                errors += [{"field": f"nodes[{node.id}].ways[{i}].condition{e['field'][1:]}", "message": e["message"]}
                           for e in definition_errors(way.condition)]
    if node.type == "webhook":
        errors += [{"field": f"nodes[{node.id}].save.{name}", "message": "a variable name (letters, digits, _) and a dotted path"}
                   for name, path in node.save.items() if not VARIABLE.match(name) or not PATH.match(path)]
    if node.type == "send" and node.skip_if is not None:
        errors += [{"field": f"nodes[{node.id}].skip_if{e['field'][1:]}", "message": e["message"]} for e in definition_errors(node.skip_if)]
    if node.type == "update_trait":
        errors += [{"field": f"nodes[{node.id}].from_context.{name}", "message": "a dotted path in the context (vars.tier, entry.plan)"}
                   for name, path in node.from_context.items() if not PATH.match(path)]
        errors += [{"field": f"nodes[{node.id}].{where}.{name}", "message": TRAIT_KEY_MESSAGE}
                   for where, names in (("set", node.set), ("from_context", node.from_context), ("unset", node.unset))
                   for name in names if trait_key_problem(name) is not None]
    if node.type in ACTIONS and node.on_failure.then == "failure_exit" and not node.on_failure.next:
        errors.append({"field": f"nodes[{node.id}].on_failure.next", "message": "the failure exit's node"})
    return errors


def _keyed(spec: Definition) -> bool:
    return spec.entry.type == "event" and bool(spec.entry.key)


def _reachable(start: str, ids: dict) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        current = stack.pop()
        if current in seen or current not in ids:
            continue
        seen.add(current)
        stack += [target for _, target in successors(ids[current])]
    return seen


def _cycle_without_wait(ids: dict) -> list[str] | None:
    """A loop of nodes none of which waits (it would spin inside one tick), as a path."""
    graph = {n: [t for _, t in successors(node) if t in ids and ids[t].type not in WAITS] for n, node in ids.items() if node.type not in WAITS}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for t in graph.get(n, ()):
            if state.get(t) == 1:
                return [*path[path.index(t):], t]
            if t not in state:
                found = visit(t)
                if found:
                    return found
        state[n] = 2
        path.pop()
        return None

    for n in graph:
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def _located(definition: Any, loc: tuple) -> str:
    """A pydantic error location with nodes named by their id: nodes[email].next, not nodes.3.next."""
    parts, value = [], definition
    for i, part in enumerate(loc):
        if parts and parts[-1] == "nodes" and isinstance(part, int):
            node = value[part] if isinstance(value, list) and part < len(value) else {}
            parts[-1] = f"nodes[{node.get('id', part) if isinstance(node, dict) else part}]"
            value = node
            continue
        if isinstance(part, str) and part in {"wait", "wait_until", "wait_event", "branch", "split", "send", "webhook", "update_trait",
                                              "enroll", "exit", "segment", "schedule", "event", "manual"} \
                and i > 0:
            continue  # the discriminated union's tag
        parts.append(str(part) if not isinstance(part, int) else f"[{part}]")
        value = value.get(part) if isinstance(value, dict) else value[part] if isinstance(value, list) and isinstance(part, int) \
            and part < len(value) else None
    return ".".join(parts).replace(".[", "[") or "definition"


class Flow:
    """A parsed version as the orchestrator uses it: the definition and its nodes by id."""

    def __init__(self, definition: dict, *, journey_id: int, version: int, name: str = ""):
        self.spec = parsed(definition)
        self.journey_id, self.version, self.name = journey_id, version, name
        self.nodes = {n.id: n for n in self.spec.nodes}

    def node(self, node_id: str):
        return self.nodes.get(node_id)

    @property
    def keyed(self) -> bool:
        return _keyed(self.spec)


def openapi_components() -> dict[str, dict]:
    """The definition's schema as OpenAPI components: `JourneyDefinition` and what it names
    (published by cdp_site/api.py; request bodies carry the definition as a plain object)."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(Definition).json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
    components = schema.pop("$defs", {})
    components["JourneyDefinition"] = {**schema, "description": __doc__.split("\n\n")[0].replace("\n", " ")}
    return components
