"""Journey writes: drafts, publishing (validated; instances in flight stay or move), status.

Editing a journey edits its newest version while that is a draft; once a version is published
it is frozen, and an edit makes the next version, a draft, which the live one keeps running
beside until it is published.
"""
from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.selectors import event_names_seen
from identity.selectors import identifier_owners, live_customers
from journeys.graph import Flow, parsed, schema_errors, structure_errors
from journeys.models import Instance, Journey, JourneyVersion
from journeys.selectors import journey_info, journey_row
from journeys.services.enrol import Entrant, entrants_enrol
from journeys.services.orchestrator import early_ticks_wanted
from journeys.types import JourneyInfo, Problem
from kernel.errors import Conflict, InvalidInput
from messaging.selectors import channel_kinds, template_kinds, topic_keys
from segments.definitions import referenced_segments
from segments.selectors import segment_ids
from tenancy.services import audit_record
from tenancy.types import TenantRef

IN_FLIGHT = ("stay", "move")


def journey_create(*, tenant: TenantRef, name: str, definition: dict, actor: str, description: str = "") -> JourneyInfo:
    """A draft journey (version 1). The definition must be well-formed JSON of the schema; the
    checks that need a whole graph wait for publishing, so a draft can be saved half-built."""
    name = name.strip()
    if not name:
        raise InvalidInput("Give the journey a name.", errors=[{"field": "name", "message": "must not be empty"}])
    _refuse_malformed(definition)
    try:
        with transaction.atomic():
            row = Journey.objects.create(tenant_id=tenant.id, name=name, description=description, created_by=actor)
            JourneyVersion.objects.create(journey=row, version=1, definition=definition, created_by=actor)
    except IntegrityError:
        raise Conflict(f"A journey named '{name}' already exists.") from None
    audit_record(tenant=tenant, actor=actor, action="journey.create", target=name, details={"id": row.id})
    return journey_info(row)


def _refuse_malformed(definition) -> None:
    """A draft may be incomplete (a node pointing nowhere yet) but must be of the schema."""
    errors = schema_errors(definition)
    if errors:
        raise InvalidInput("The definition is not valid.", errors=[{**e, "field": f"definition.{e['field']}"} for e in errors])


def journey_update(*, tenant: TenantRef, journey_id: int, actor: str, changes: dict) -> JourneyInfo:
    """Change the name or description, or the definition: of the draft version, or, when the
    newest version is published, of a new draft version (the live one runs on meanwhile)."""
    row = journey_row(tenant, journey_id)
    if row.status == "archived":
        raise Conflict(f"{row.name} is archived; duplicate it to change it.")
    definition = changes.get("definition")
    with transaction.atomic():
        if definition is not None:
            _refuse_malformed(definition)
            newest = JourneyVersion.objects.select_for_update().get(journey=row, version=row.version)
            if newest.published_at is None:
                newest.definition = definition
                newest.save(update_fields=["definition"])
            elif definition != newest.definition:
                row.version += 1
                JourneyVersion.objects.create(journey=row, version=row.version, definition=definition, created_by=actor)
        for field in ("name", "description"):
            if changes.get(field) is not None:
                setattr(row, field, changes[field].strip())
        if not row.name:
            raise InvalidInput("Give the journey a name.", errors=[{"field": "name", "message": "must not be empty"}])
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            raise Conflict(f"A journey named '{row.name}' already exists.") from None
    audit_record(tenant=tenant, actor=actor, action="journey.update", target=row.name, details={"version": row.version})
    return journey_info(row)


def publish_problems(*, tenant: TenantRef, definition: dict) -> list[Problem]:
    """Everything that stops a definition from going live (errors), and what is probably a
    mistake (warnings: an awaited event this tenant has never sent). Each names its node."""
    errors = structure_errors(definition)
    if errors:
        return [Problem(field=e["field"], message=e["message"]) for e in errors]
    spec = parsed(definition)
    problems: list[Problem] = []
    channels, templates, topics, segments = channel_kinds(tenant=tenant), template_kinds(tenant=tenant), topic_keys(tenant=tenant), \
        segment_ids(tenant=tenant)
    if spec.entry.type in ("segment", "schedule") and spec.entry.segment_id not in segments:
        problems.append(Problem("entry.segment_id", f"no segment {spec.entry.segment_id} in this tenant"))
    others = {j.id: j for j in Journey.objects.filter(tenant_id=tenant.id, id__in={n.journey_id for n in spec.nodes if n.type == "enroll"})}
    for node in spec.nodes:
        where = f"nodes[{node.id}]"
        if node.type == "enroll":
            other = others.get(node.journey_id)
            if other is None:
                problems.append(Problem(f"{where}.journey_id", f"no journey {node.journey_id} in this tenant"))
            elif other.live_version and parsed(JourneyVersion.objects.get(journey=other, version=other.live_version).definition
                                               ).entry.type != "manual":
                problems.append(Problem(f"{where}.journey_id", f"{other.name} is entered by its own entry, not by enrolment: "
                                                               "give it a manual entry"))
            elif other.status != "active":
                problems.append(Problem(f"{where}.journey_id", f"{other.name} is {other.status}: enrolments will fail until it is active",
                                        severity="warning"))
        if node.type == "webhook":
            if channels.get(node.channel_id) != "webhook":
                problems.append(Problem(f"{where}.channel_id", f"no webhook channel {node.channel_id} in this tenant"))
            if templates.get(node.template_id) != "webhook":
                problems.append(Problem(f"{where}.template_id", f"no webhook template {node.template_id} in this tenant"))
        if node.type == "send":
            kind = channels.get(node.channel_id)
            if kind is None:
                problems.append(Problem(f"{where}.channel_id", f"no channel {node.channel_id} in this tenant"))
            if node.template_id not in templates:
                problems.append(Problem(f"{where}.template_id", f"no template {node.template_id} in this tenant"))
            elif kind and templates[node.template_id] != kind:
                problems.append(Problem(f"{where}.template_id", f"a {templates[node.template_id]} template; the channel sends {kind}"))
            if node.category == "marketing" and kind and (kind, node.topic) not in topics:
                problems.append(Problem(f"{where}.topic", f"a marketing {kind} names one of this tenant's {kind} topics"))
        for condition in _conditions(node):
            problems += [Problem(f"{where}", f"no segment {s} in this tenant") for s in referenced_segments(condition) if s not in segments]
    problems += _unseen_events(tenant, spec)
    return problems


def _conditions(node) -> list[dict]:
    if node.type == "branch":
        return [w.condition for w in node.ways if w.condition]
    if node.type == "send" and node.skip_if:
        return [node.skip_if]
    return []


def _unseen_events(tenant: TenantRef, spec) -> list[Problem]:
    awaited = [(f"nodes[{n.id}].events[{i}]", e.event) for n in spec.nodes if n.type == "wait_event" for i, e in enumerate(n.events)]
    if spec.entry.type == "event":
        awaited.append(("entry.event", spec.entry.event))
    if spec.goal:
        awaited.append(("goal.event", spec.goal.event))
    seen = event_names_seen(tenant=tenant, names={name for _, name in awaited})
    return [Problem(field, f"this tenant has never sent {name!r}: check the spelling", severity="warning")
            for field, name in awaited if name not in seen]


def journey_publish(*, tenant: TenantRef, journey_id: int, actor: str, in_flight: str = "stay",
                    node_map: dict[str, str] | None = None) -> JourneyInfo:
    """Freeze the newest version and make it the one new entrants follow. Instances in flight
    on older versions stay on theirs (`stay`, the default) or `move` to the node of the same id
    in this one; `node_map` sends those at nodes it no longer has (old id -> new id, or "" to end
    them). The choice and how many moved are recorded on the version."""
    row = journey_row(tenant, journey_id)
    if row.status == "archived":
        raise Conflict(f"{row.name} is archived.")
    if in_flight not in IN_FLIGHT:
        raise InvalidInput("Instances in flight stay on their version or move to this one.",
                           errors=[{"field": "in_flight", "message": "stay or move"}])
    newest = JourneyVersion.objects.get(journey=row, version=row.version)
    if newest.published_at is not None:
        raise Conflict(f"Version {newest.version} of {row.name} is published already; edit the journey to make a new draft.")
    problems = [p for p in publish_problems(tenant=tenant, definition=newest.definition) if p.severity == "error"]
    if problems:
        raise InvalidInput(f"{row.name} cannot be published: {problems[0].field}: {problems[0].message}.",
                           errors=[{"field": f"definition.{p.field}", "message": p.message} for p in problems])
    nodes = {n.id for n in parsed(newest.definition).nodes}
    node_map = node_map or {}
    bad = {old: new for old, new in node_map.items() if new and new not in nodes}
    if bad:
        old, new = next(iter(bad.items()))
        raise InvalidInput(f"Version {newest.version} has no node {new!r} to move {old!r} to.",
                           errors=[{"field": f"node_map.{old}", "message": f"no node {new!r}"}])
    now = timezone.now()
    with transaction.atomic():
        migration = {"policy": in_flight, "moved": 0, "ended": 0}
        if in_flight == "move" and row.live_version is not None:
            migration.update(_move_in_flight(row, newest.version, nodes, node_map, now))
        newest.published_at, newest.published_by, newest.migration = now, actor, migration
        newest.save(update_fields=["published_at", "published_by", "migration"])
        row.live_version = newest.version
        row.live_since = row.live_since or now
        if row.status == "draft":
            row.status = "active"
        row.save(update_fields=["live_version", "live_since", "status", "updated_at"])
    early_ticks_wanted()
    audit_record(tenant=tenant, actor=actor, action="journey.publish", target=row.name,
                 details={"version": newest.version, **migration})
    return journey_info(row)


def _move_in_flight(row: Journey, version: int, nodes: set[str], node_map: dict[str, str], now) -> dict:
    """Live instances of older versions onto `version`: same node id, else `node_map`'s target,
    else ended. In a few statements, whatever their number."""
    live = Instance.objects.filter(journey=row, status__in=Instance.LIVE).exclude(version=version)
    moved = live.filter(node__in=nodes).update(version=version, due_at=now, wait_set=False)
    for old, new in node_map.items():
        if new:
            moved += live.filter(node=old).update(version=version, node=new, arrived_at=now, due_at=now, wait_set=False)
    ended = live.exclude(node__in=nodes).update(status="exited", ended_at=now, end_reason=f"its node is not in version {version}",
                                                due_at=None)
    return {"moved": moved, "ended": ended}


def journey_set_status(*, tenant: TenantRef, journey_id: int, actor: str, status: str) -> JourneyInfo:
    """Pause (instances wait where they are; entries stop), resume, or archive (every live
    instance ends)."""
    row = journey_row(tenant, journey_id)
    allowed = {"paused": ("active",), "active": ("paused",), "archived": ("draft", "active", "paused")}
    if row.status not in allowed[status]:
        verb = {"paused": "pause", "active": "resume", "archived": "archive"}[status]
        raise Conflict(f"{row.name} is {row.status}: it cannot {verb}." if row.status != "draft" else f"Publish {row.name} first.")
    with transaction.atomic():
        if status == "archived":
            Instance.objects.filter(journey=row, status__in=Instance.LIVE).update(status="exited", ended_at=timezone.now(),
                                                                                 end_reason="journey archived", due_at=None)
        row.status = status
        row.save(update_fields=["status", "updated_at"])
    early_ticks_wanted()
    audit_record(tenant=tenant, actor=actor, action=f"journey.{ {'paused': 'pause', 'active': 'resume', 'archived': 'archive'}[status]}",
                 target=row.name)
    return journey_info(row)


def journey_enroll(*, tenant: TenantRef, journey_id: int, actor: str, customers: list[dict], key: str = "", context: dict | None = None,
                   idempotency_key: str = "") -> dict:
    """Enrol customers (by cdp_id, or an identifier's type and value) now; the next tick moves
    them. Idempotent: the same customer, key and `idempotency_key` enrol once, however often
    asked (a new idempotency key enrols again, as the re-entry policy allows)."""
    row = journey_row(tenant, journey_id)
    if not customers:
        raise InvalidInput("Name at least one customer to enrol.", errors=[{"field": "customers", "message": "at least one"}])
    if row.status != "active":
        raise Conflict(f"{row.name} is {row.status}: only an active journey takes enrolments.")
    by_identifier = identifier_owners(tenant=tenant, identifiers=[(c["type"], c["value"]) for c in customers if not c.get("cdp_id")])
    wanted = {c["cdp_id"] for c in customers if c.get("cdp_id")}
    known = live_customers(tenant=tenant, cdp_ids=wanted) if wanted else set()
    cdp_ids, unknown = [], []
    for c in customers:
        cdp_id = c.get("cdp_id") or by_identifier.get((c.get("type", ""), c.get("value", "")))
        if cdp_id and (not c.get("cdp_id") or cdp_id in known):
            cdp_ids.append(cdp_id)
        else:
            unknown.append(c.get("cdp_id") or f"{c.get('type')}:{c.get('value')}")
    version = JourneyVersion.objects.get(journey=row, version=row.live_version)
    flow = Flow(version.definition, journey_id=row.id, version=version.version, name=row.name)
    entrants = [Entrant(cdp_id=c, ref=f"api:{idempotency_key}:{c}:{key}"[:200], key=key, context=context or {})
                for c in dict.fromkeys(cdp_ids)]
    with transaction.atomic():
        counts = entrants_enrol(tenant=tenant, journey=row, flow=flow, entrants=entrants, now=timezone.now())
    audit_record(tenant=tenant, actor=actor, action="journey.enroll", target=row.name, details={**counts, "unknown": len(unknown)})
    return {**counts, "unknown": unknown[:20], "unknown_count": len(unknown)}
