"""What each kind of node decides for the instances due at it, a batch at a time.

A handler gets every due instance standing at one node of one version and returns one decision
(journeys.services.moves.Move) for each: the lakehouse is read once for the batch (a branch's
condition over all their customers in one statement, their time zones in one), never once per
instance. A handler must decide for every instance it is given, or the tick would see it again.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from customers.selectors import traits_of_customers
from customers.services import customers_traits_write
from journeys.graph import Flow
from journeys.models import Instance, InstanceStep, Journey
from journeys.services.enrol import Entrant
from journeys.services.moves import Move, moving
from journeys.services.sends import QueuedSend, journey_facts, send_key, send_variables
from kernel.timezones import tenant_zone, zone_or
from messaging.selectors import deliveries_by_key
from messaging.services.outbox import request_problem
from messaging.types import SendRequest
from segments.selectors import definition_holds_for
from tenancy.types import TenantRef

# A time-of-day wait taken up to this late still goes (a tick every 5 minutes, a slow one);
# later than that (the orchestrator was down) it waits for the next allowed time instead, so
# everyone held by it does not go at once at the wrong hour.
LATE_GRACE = timedelta(hours=1)


@dataclass
class Batch:
    tenant: TenantRef
    flow: Flow
    node: object
    instances: list[Instance]
    now: datetime
    dry: bool = False  # a backtest: decide as always, but queue no send, call no webhook, write no trait


def decide(batch: Batch) -> list[Move]:
    return HANDLERS[batch.node.type](batch)


# Nodes that decide on an instance's ids, node, step, key, bucket and counters alone; every other
# (and any new) node is given the instances' times and context too.
LEAN_NODES = ("wait", "wait_event", "send", "split", "exit")


def reads_details(node) -> bool:
    if node.type == "branch":
        return any(way.variables for way in node.ways)
    return node.type not in LEAN_NODES


def _wait(batch: Batch) -> list[Move]:
    return moving(batch.instances, "next", batch.node.next)


def _wait_event(batch: Batch) -> list[Move]:
    """Due only when the timeout came first: the events that resume instances are matched by the
    tick's events step before instances advance."""
    return moving(batch.instances, "timeout", batch.node.timeout_next)


def _wait_until(batch: Batch) -> list[Move]:
    node, now = batch.node, batch.now
    keys = {"timezone"} | ({node.trait} if node.trait else set())
    traits = traits_of_customers(tenant=batch.tenant, cdp_ids={i.cdp_id for i in batch.instances}, keys=keys)
    moves = []
    for row in batch.instances:
        own = traits.get(row.cdp_id, {})
        if node.trait:
            moves.append(_until_trait(row, node, own.get(node.trait), now))
        elif row.wait_set and now - row.due_at <= LATE_GRACE:
            moves.append(Move(row, "next", node.next, detail={"at": row.due_at.isoformat()}))
        else:
            zone = _zone(own.get("timezone"), batch.tenant)
            at = next_local_time(now, zone, node.at, node.weekdays)
            if at <= now:
                moves.append(Move(row, "next", node.next))
            else:
                late = {"late": True} if row.wait_set else {}
                moves.append(Move(row, "", hold_until=at, wait_set=True, detail=late))
    return moves


def _until_trait(row: Instance, node, trait: tuple | None, now: datetime) -> Move:
    when = trait[1] if trait else None
    if when is None:
        target = node.missing_next
        return Move(row, "missing", target, end="" if target else "exited",
                    reason="" if target else f"{node.trait} is not a date", detail={"trait": node.trait})
    due = when + timedelta(days=node.offset_days)
    if due <= now:
        return Move(row, "next", node.next, detail={"trait": node.trait, "due": due.isoformat()})
    return Move(row, "", hold_until=due, wait_set=True)


def _zone(value: tuple | None, tenant: TenantRef) -> ZoneInfo:
    return zone_or(value[0] if value else None, tenant_zone(tenant))


def next_local_time(now: datetime, zone: ZoneInfo, at: str, weekdays: list[int]) -> datetime:
    """The first moment at or after `now` that is `at` (HH:MM) on an allowed weekday in `zone`,
    as a UTC time. On a day when the clock skips that time (DST), the moment it skips to."""
    hour, minute = (int(p) for p in at.split(":"))
    local = now.astimezone(zone)
    for days in range(8):
        day = local.date() + timedelta(days=days)
        if day.weekday() not in weekdays:
            continue
        # Through UTC and back: a time the clock skips becomes the moment after the gap.
        candidate = datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(ZoneInfo("UTC"))
        if candidate >= now:
            return candidate
    raise ValueError("no allowed weekday")


def _branch(batch: Batch) -> list[Move]:
    remaining = list(batch.instances)
    moves = []
    for index, way in enumerate(batch.node.ways):
        if not remaining:
            break
        held = definition_holds_for(tenant=batch.tenant, definition=way.condition, cdp_ids={i.cdp_id for i in remaining},
                                    now=batch.now) if way.condition else None
        taken = [i for i in remaining if (held is None or i.cdp_id in held)
                 and all(filter_holds(f.model_dump(), i.context) for f in way.variables)]
        moves += moving(taken, f"way:{index}", way.next)
        gone = {i.id for i in taken}
        remaining = [i for i in remaining if i.id not in gone]
    return moves + moving(remaining, "else", batch.node.else_)


def _split(batch: Batch) -> list[Move]:
    moves = []
    for row in batch.instances:
        bound = 0.0
        for index, way in enumerate(batch.node.ways):
            bound += way.percent * 100
            if row.bucket < bound or index == len(batch.node.ways) - 1:
                moves.append(Move(row, f"way:{index}", way.next, detail={"bucket": row.bucket}))
                break
    return moves


def _send(batch: Batch) -> list[Move]:
    node, flow = batch.node, batch.flow
    skipped = definition_holds_for(tenant=batch.tenant, definition=node.skip_if, cdp_ids={i.cdp_id for i in batch.instances},
                                   now=batch.now) if node.skip_if else set()
    probe = SendRequest(key="probe", channel_id=node.channel_id, template_id=node.template_id, cdp_id="", category=node.category,
                        topic=node.topic)
    problem = request_problem(tenant=batch.tenant, request=probe)
    passed = [row for row in batch.instances if row.cdp_id in skipped]
    going = [row for row in batch.instances if row.cdp_id not in skipped]
    if problem:
        return [*moving(passed, "skipped", node.next, reason="skip condition held"), *(failed(row, node, problem, batch.now) for row in going)]
    budget = _send_budget(batch)
    held = going[budget:] if budget is not None else []  # the journey's rate: they wait at the step for the next minute
    going = going[:budget] if budget is not None else going
    # Every instance moved on queues this node's message: one spec for all, queued from their rows
    # in SQL when the moves are applied (its key and variables computed there).
    queued = QueuedSend(journey_id=flow.journey_id, version=flow.version, name=flow.name, node=node.id, channel_id=node.channel_id,
                        template_id=node.template_id, category=node.category, topic=node.topic, enqueue=not batch.dry)
    return [*moving(passed, "skipped", node.next, reason="skip condition held"),
            *moving(going, "next", node.next, queue=queued),
            *moving(held, "", hold_until=batch.now.replace(second=0, microsecond=0) + timedelta(minutes=1))]


def _send_budget(batch: Batch) -> int | None:
    """How many more messages the journey may queue this minute (None: no limit): its send
    steps taken since the minute began (at this version's send nodes), from the steps' history."""
    limit = batch.flow.spec.limits.sends_per_minute
    if limit is None:
        return None
    minute = batch.now.replace(second=0, microsecond=0)
    sends = [n.id for n in batch.flow.spec.nodes if n.type == "send"]
    taken = InstanceStep.objects.filter(instance__journey_id=batch.flow.journey_id, at__gte=minute, way="next", node__in=sends).count()
    return max(limit - taken, 0)


RETRY_AFTER = timedelta(minutes=5)


def failed(row: Instance, node, problem: str, now: datetime, *, retry: bool = True) -> Move:
    """An action that could not be carried out, by its failure policy: try again later (up to
    `retries` times), then continue, take the failure exit, or end the instance."""
    policy = node.on_failure
    if retry and row.retries < policy.retries:
        return Move(row, "", hold_until=now + RETRY_AFTER, retry=True)
    detail = {"error": problem}
    if policy.then == "continue":
        return Move(row, "failed_continue", node.next, detail=detail)
    if policy.then == "failure_exit":
        return Move(row, "failure", policy.next, detail=detail)
    return Move(row, "failure", end="failed", reason=problem, detail=detail)


WEBHOOK_POLL = timedelta(minutes=1)
ANSWERED = ("sent", "delivered", "opened", "clicked")
GAVE_UP = ("failed", "skipped", "bounced", "complained")


def _webhook(batch: Batch) -> list[Move]:
    """First visit: queue the call (its key fixed by the step, so a replay queues nothing more)
    and wait; later visits: the answer's fields into the variables and on, or the failure policy."""
    node, flow, now = batch.node, batch.flow, batch.now
    if batch.dry:  # no call, so no answer: on with no variables, as a journey test does
        return [Move(r, "next", node.next, detail={"key": send_key(r, node.id), "not_called": True}) for r in batch.instances]
    moves = []
    fresh = [r for r in batch.instances if not r.wait_set]
    if fresh:
        probe = SendRequest(key="probe", channel_id=node.channel_id, template_id=node.template_id, cdp_id="", category="transactional")
        problem = request_problem(tenant=batch.tenant, request=probe)
        for row in fresh:
            if problem:
                moves.append(failed(row, node, problem, now, retry=False))
                continue
            request = SendRequest(key=send_key(row, node.id), channel_id=node.channel_id, template_id=node.template_id, cdp_id=row.cdp_id,
                                  category="transactional", source=f"journey:{flow.journey_id}", variables=send_variables(row, journey_facts(flow.journey_id, flow.name,
                                                                                                        flow.version, node.id)))
            moves.append(Move(row, "", hold_until=now + WEBHOOK_POLL, wait_set=True, send=request))
    waiting = [r for r in batch.instances if r.wait_set]
    found = deliveries_by_key(tenant=batch.tenant, keys=[send_key(r, node.id) for r in waiting]) if waiting else {}
    for row in waiting:
        delivery = found.get(send_key(row, node.id))
        status = delivery.status if delivery else ""
        if status in ANSWERED:
            answer = delivery.response or {}
            variables = {**row.context.get("vars", {}), node.id: {"status": answer.get("status")},
                         **{name: dig(answer.get("json"), path) for name, path in node.save.items()}}
            moves.append(Move(row, "next", node.next, context={**row.context, "vars": variables},
                              detail={"key": send_key(row, node.id), "status": answer.get("status")}))
        elif status in GAVE_UP:
            moves.append(failed(row, node, f"the webhook call {status}: {delivery.reason}", now, retry=False))
        elif now - row.arrived_at >= node.timeout.delta:
            moves.append(failed(row, node, f"no answer within {node.timeout.delta}", now, retry=False))
        else:
            moves.append(Move(row, "", hold_until=now + WEBHOOK_POLL, wait_set=True))
    return moves


def dig(value, path: str):
    """The value at a dotted path of a JSON answer (list positions by number), or None."""
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _update_trait(batch: Batch) -> list[Move]:
    """The batch's trait writes in one go (customers' service; change ids from the step, so a
    replayed tick records each change once), then on; a profile left alone (suppressed) takes
    the failure policy."""
    node, flow = batch.node, batch.flow
    updates, keys = {}, {}
    for row in sorted(batch.instances, key=lambda r: r.instance_id):
        copied = {name: _path(row.context, path) for name, path in node.from_context.items()}
        values = {**node.set, **{name: value for name, value in copied.items() if value is not None}}  # nothing there: left as it is
        updates.setdefault(row.cdp_id, {}).update(values)  # keyed instances of one customer: one write, the last one's values
        keys.setdefault(row.cdp_id, send_key(row, node.id))  # the step that asked: the same on a replay
    refused = {} if batch.dry else customers_traits_write(tenant=batch.tenant, updates=updates, unset=node.unset,
                                                          actor=f"journey:{flow.journey_id}", source="journey", change_keys=keys,
                                                          at=batch.now)
    return [failed(row, node, f"the profile was not changed: {refused[row.cdp_id]}", batch.now) if row.cdp_id in refused
            else Move(row, "next", node.next, detail={"set": sorted(updates[row.cdp_id]), "unset": node.unset})
            for row in batch.instances]


def _enroll(batch: Batch) -> list[Move]:
    """Each instance asks once (its ref is its step) to enrol its customer in the other journey;
    the enrolments are made in the batch's commit, by the other journey's rules."""
    node = batch.node
    other = Journey.objects.filter(tenant_id=batch.tenant.id, id=node.journey_id).first()
    problem = f"no journey {node.journey_id}" if other is None else "" if other.status == "active" else f"{other.name} is {other.status}"
    moves = []
    for row in batch.instances:
        if problem:
            moves.append(failed(row, node, f"not enrolled: {problem}", batch.now))
            continue
        entrant = Entrant(cdp_id=row.cdp_id, ref=f"journey:{send_key(row, node.id)}"[:200], key=row.key if node.pass_key else "",
                          context=row.context.get("entry", {}) if node.pass_entry else {})
        moves.append(Move(row, "next", node.next, enroll=(other.id, entrant), detail={"journey_id": other.id, "ref": entrant.ref}))
    return moves


def _exit(batch: Batch) -> list[Move]:
    return moving(batch.instances, "exit", end="completed", reason="reached an exit")


HANDLERS: dict[str, Callable[[Batch], list[Move]]] = {
    "wait": _wait, "wait_event": _wait_event, "wait_until": _wait_until, "branch": _branch, "split": _split, "send": _send,
    "webhook": _webhook, "update_trait": _update_trait, "enroll": _enroll, "exit": _exit,
}


# --- filters on the journey's context (entry properties, variables) -----------------------------

def _path(context: dict, path: str):
    value = context
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def filter_holds(f: dict, context: dict) -> bool:
    """A property filter (segments' operators) on the context: `entry.plan`, `vars.status`."""
    value, op, want = _path(context, f["property"]), f["op"], f.get("value")
    if op == "exists":
        return value is not None
    if op == "missing":
        return value is None
    if value is None:
        return False
    if op in ("gt", "gte", "lt", "lte", "between"):
        number = _number(value)
        if number is None:
            return False
        if op == "between":
            low, high = (_number(w) for w in want)
            return low is not None and high is not None and low <= number <= high
        bound = _number(want)
        return bound is not None and {"gt": number > bound, "gte": number >= bound, "lt": number < bound, "lte": number <= bound}[op]
    text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    if op == "equals":
        return _equal(value, want)
    if op == "not_equals":
        return not _equal(value, want)
    if op == "in":
        return any(_equal(value, w) for w in want or [])
    if op == "contains":
        return str(want).lower() in text.lower()
    if op == "starts_with":
        return text.lower().startswith(str(want).lower())
    return False


def _equal(value, want) -> bool:
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        number = _number(value)
        return number is not None and number == float(want)
    if isinstance(want, bool):
        return value is want or str(value).lower() == str(want).lower()
    return str(value) == str(want)
