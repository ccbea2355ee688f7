"""Running identity resolution against the lakehouse and applying what changed.

Every run resolves whole components: the identifiers it starts from, every identifier reachable
from them through recorded edges, and every identifier of the customers those belong to. The
result is compared with the stored map and only the differences are written: identities, the
events and traits of customers that merged or split (traits are rebuilt from those customers'
identify and group calls, so they follow their identifiers), consent of merged customers, ids
issued, the merge log and conflicts.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc
from django.db import transaction
from django.utils import timezone as dj_timezone

from cdp_site.errors import InvalidInput, NotFound
from customers.tables import CONSENTS, EVENTS, IDENTITIES, TRAITS
from customers.traits import trait_rows_from_call, traits_save
from identity import sql
from identity.extract import call_identifiers
from identity.models import IdentityBlock, IdentityRun, IdentitySettings
from identity.resolution import SEP, Graph, Node, Resolution, micros_of, resolve
from identity.rules import Rules
from identity.tables import CONFLICTS, CUSTOMER_IDS, EDGES, MERGES
from lakehouse import get_engine
from tenancy.models import Tenant
from tenancy.services import audit_record
from tenancy.types import TenantRef

logger = logging.getLogger("cdp.identity")
# Values per IN list of a write (one marker each) on an engine with a marker limit: inside
# Databricks' 255 with the other parameters. Reads take the engine's `max_list_values`.
WRITE_CHUNK_LIMITED = 200


@dataclass
class Outcome:
    """What a run changed."""

    identifiers: int = 0
    edges: int = 0
    customers: int = 0
    changed: int = 0
    merges: int = 0
    conflicts: int = 0
    affected: set[str] = field(default_factory=set)  # customers whose events/traits were redone
    result: Resolution | None = field(default=None, repr=False)

    @cached_property
    def assignment(self) -> dict[Node, str]:
        """Identifier -> customer after the run (built when asked: millions of entries on a rebuild)."""
        return self.result.assignment() if self.result is not None else {}


def _chunks(values: Iterable, engine, *, writes: bool = False) -> list[list]:
    """Sorted values in lists an `IN :values` of one statement takes (see WRITE_CHUNK_LIMITED)."""
    size = WRITE_CHUNK_LIMITED if writes and engine.features.max_params_per_statement else engine.features.max_list_values
    values = sorted(values)
    return [values[i:i + size] for i in range(0, len(values), size)]


def _dt(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, tz=timezone.utc)


# --- rules and blocks -------------------------------------------------------------------------

def rules_for(tenant_id: int) -> Rules:
    settings = IdentitySettings.objects.filter(tenant_id=tenant_id).first()
    return Rules.from_dict(settings.rules) if settings else Rules()


def rules_checked(data: dict) -> Rules:
    try:
        rules = Rules.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"The rules are not valid: {exc}.", errors=[{"field": "rules", "message": str(exc)}]) from None
    errors = rules.problems()
    if errors:
        raise InvalidInput(f"The rules are not valid: {', '.join(sorted({e['field'] for e in errors}))}.", errors=errors)
    return rules


def _blocks(tenant_id: int) -> tuple[set[Node], set[frozenset]]:
    nodes, edges = set(), set()
    for block in IdentityBlock.objects.filter(tenant_id=tenant_id):
        if block.other_type:
            edges.add(frozenset({(block.id_type, block.id_value), (block.other_type, block.other_value)}))
        else:
            nodes.add((block.id_type, block.id_value))
    return nodes, edges


# --- reading a closed scope -------------------------------------------------------------------

@dataclass
class _Scope:
    edges: dict[tuple, dict] = field(default_factory=dict)
    identities: dict[Node, dict] = field(default_factory=dict)
    edge_table: pa.Table | None = None  # instead of `edges`, for a whole tenant: as the engine read them
    identity_table: pa.Table | None = None  # instead of `identities`, likewise

    @property
    def edge_count(self) -> int:
        return len(self.edges) if self.edge_table is None else self.edge_table.num_rows

    @property
    def identity_count(self) -> int:
        return len(self.identities) if self.identity_table is None else self.identity_table.num_rows

    def previous(self) -> dict[Node, str]:
        """The stored assignment: identifier -> customer."""
        if self.identity_table is None:
            return {node: row["cdp_id"] for node, row in self.identities.items()}
        table = self.identity_table
        return dict(zip(zip(_text(table, "id_type").to_pylist(), _text(table, "id_value").to_pylist()), _text(table, "cdp_id").to_pylist()))

    def stored(self, nodes: list[Node]) -> dict[Node, dict]:
        """The stored rows of some identifiers (those a run may rewrite): one hash lookup of them
        all among the tenant's, not a dict of every row."""
        if self.identity_table is None:
            return {node: self.identities[node] for node in nodes if node in self.identities}
        if not nodes:
            return {}
        table = self.identity_table
        keys = pc.binary_join_element_wise(_text(table, "id_type"), _text(table, "id_value"), SEP)
        wanted = pa.array([f"{t}{SEP}{v}" for t, v in nodes], pa.string())
        at = pc.index_in(wanted, value_set=keys).to_pylist()
        found = [(node, row) for node, row in zip(nodes, at) if row is not None]
        rows = table.take(pa.array([row for _, row in found], pa.int64())).to_pylist()
        return {node: row for (node, _), row in zip(found, rows)}


def _text(table: pa.Table, name: str) -> pa.Array:
    """A string column of an engine's Arrow read (an empty read's columns have no type yet)."""
    return table[name].cast(pa.string()).combine_chunks()


def _micros(table: pa.Table, name: str) -> pa.Array:
    """A timestamp column of an engine's Arrow read as microseconds since the epoch."""
    return table[name].cast(pa.timestamp("us", "UTC")).cast(pa.int64()).combine_chunks()


def _scope(engine, tenant: str, seeds: set[Node], rules: Rules, blocked_nodes: set[Node] = frozenset(),
           blocked_edges: set[frozenset] = frozenset()) -> _Scope:
    """Every edge and identity reachable from the seeds, plus whole customers. Blocked identifiers
    and edges take no part in resolution, so the search does not go through them either: a blocked
    kiosk seen with thousands of people no longer ties them into one scope."""
    def blocked(node: Node) -> bool:
        return node in blocked_nodes or rules.is_blocked(node[1])

    scope, seen_values, seen_customers = _Scope(), set(), set()
    frontier = {node[1] for node in seeds if not blocked(node)}
    while frontier:
        seen_values |= frontier
        customers, reached = set(), set()
        for chunk in _chunks(frontier, engine):
            for row in engine.execute(sql.EDGES_FOR_VALUES, {"tenant_id": tenant, "values": chunk}):
                a, b = (row["a_type"], row["a_value"]), (row["b_type"], row["b_value"])
                if blocked(a) or blocked(b) or frozenset((a, b)) in blocked_edges:
                    continue
                scope.edges[(*a, *b)] = row
                reached |= {a[1], b[1]}
            for row in engine.execute(sql.IDENTITIES_BY_VALUES, {"tenant_id": tenant, "values": chunk}):
                scope.identities[(row["id_type"], row["id_value"])] = row
                customers.add(row["cdp_id"])
        for chunk in _chunks(customers - seen_customers, engine):
            for row in engine.execute(sql.IDENTITIES_BY_CUSTOMERS, {"tenant_id": tenant, "cdp_ids": chunk}):
                scope.identities[(row["id_type"], row["id_value"])] = row
        seen_customers |= customers
        reached |= {node[1] for node in scope.identities if not blocked(node)}
        frontier = reached - seen_values
    return scope


def _whole_tenant(engine, tenant: str) -> _Scope:
    # A tenant's largest reads, as Arrow: on Spark and Databricks no Python object per value, the
    # edges go into resolution (which works in Arrow) as they are, and of the stored identities only
    # those a run rewrites ever become Python rows (`_Scope.stored`).
    return _Scope(edge_table=engine.arrow(sql.ALL_EDGES, {"tenant_id": tenant}),
                  identity_table=engine.arrow(sql.ALL_IDENTITIES, {"tenant_id": tenant}))


def _graph(scope: _Scope, extra: Graph | None = None) -> Graph:
    graph = Graph()
    if scope.edge_table is not None:
        edges = scope.edge_table
        graph = Graph(a_type=_text(edges, "a_type"), a_value=_text(edges, "a_value"), b_type=_text(edges, "b_type"),
                      b_value=_text(edges, "b_value"), seen_at=_micros(edges, "first_seen_at"),
                      message_id=pc.fill_null(_text(edges, "message_id"), ""))
    else:
        edge_times = micros_of([row["first_seen_at"] for row in scope.edges.values()])
        for ((a_type, a_value, b_type, b_value), row), seen_at in zip(scope.edges.items(), edge_times):
            graph.add_edge((a_type, a_value), (b_type, b_value), seen_at, row["message_id"] or "")
    if scope.identity_table is not None:
        identities = scope.identity_table
        graph.node_type, graph.node_value = _text(identities, "id_type"), _text(identities, "id_value")
        graph.node_seen_at = _micros(identities, "first_seen_at")
    else:
        graph.node_type = [node[0] for node in scope.identities]
        graph.node_value = [node[1] for node in scope.identities]
        graph.node_seen_at = micros_of([row["first_seen_at"] for row in scope.identities.values()])
    return graph.joined(extra) if extra is not None else graph


# --- the run ----------------------------------------------------------------------------------

def resolve_and_apply(engine, tenant: TenantRef, *, seeds: set[Node] | None, new: Graph | None = None, run_id: int | None = None,
                      rules: Rules | None = None, now: datetime | None = None,
                      progress: Callable[[str], None] = lambda message: None) -> Outcome:
    """Resolve the components of `seeds` (None: the whole tenant) with the new edges, and write
    the differences. New edges are recorded first. `progress` hears each phase as it ends."""
    rules = rules or rules_for(tenant.id)
    now = now or dj_timezone.now()
    if new is not None and new.a_type:
        _record_edges(engine, tenant.slug, new)
    blocked_nodes, blocked_edges = _blocks(tenant.id)
    started = time.perf_counter()
    scope = _whole_tenant(engine, tenant.slug) if seeds is None else _scope(engine, tenant.slug, seeds, rules, blocked_nodes, blocked_edges)
    progress(f"read {scope.edge_count:,} edges and {scope.identity_count:,} identifiers ({time.perf_counter() - started:.1f} s)")
    previous = scope.previous()
    started = time.perf_counter()
    result = resolve(tenant.slug, _graph(scope, new), rules, previous=previous, blocked_nodes=blocked_nodes, blocked_edges=blocked_edges)
    progress(f"resolved {len(result.keys):,} identifiers into {result.customers:,} customers, {len(result.merges):,} merges, "
             f"{len(result.conflicts):,} conflicts ({time.perf_counter() - started:.1f} s); writing what changed")
    latest: dict[Node, int] = {}
    if new is not None:  # when each identifier was last seen, from the calls being loaded
        for node in zip(new.node_type, new.node_value, new.node_seen_at):
            latest[node[:2]] = max(latest.get(node[:2], node[2]), node[2])
    started = time.perf_counter()
    outcome = _apply(engine, tenant, scope, result, previous, run_id, now, rules, latest)
    progress(f"wrote {outcome.changed:,} changed identifiers, moved the data of {len(outcome.affected):,} customers "
             f"({time.perf_counter() - started:.1f} s)")
    return outcome


def _record_edges(engine, tenant: str, graph: Graph) -> None:
    rows = {}
    for a_type, a_value, b_type, b_value, seen_at, message_id in zip(graph.a_type, graph.a_value, graph.b_type, graph.b_value,
                                                                       graph.seen_at, graph.message_id):
        key = (a_type, a_value, b_type, b_value)
        if key not in rows or seen_at < rows[key]["first_seen_at"]:
            rows[key] = {"tenant_id": tenant, "a_type": a_type, "a_value": a_value, "b_type": b_type, "b_value": b_value,
                         "first_seen_at": seen_at, "message_id": message_id}
    for row in rows.values():
        row["first_seen_at"] = _dt(row["first_seen_at"])
    engine.insert_many(EDGES, list(rows.values()), skip_existing=True)


def _apply(engine, tenant: TenantRef, scope: _Scope, result: Resolution, previous: dict[Node, str], run_id, now, rules: Rules,
           latest: dict[Node, int]) -> Outcome:
    outcome = Outcome(result=result, identifiers=len(result.keys), edges=scope.edge_count, customers=result.customers,
                      merges=len(result.merges), conflicts=len(result.conflicts))
    # Only identifiers that are new, moved, or seen again by this load can need a write: found as
    # arrays, so a rebuild that changes nothing looks at nothing one by one.
    new_rows, moved_rows = result.changes()
    candidates = set(new_rows.tolist()) | set(moved_rows.tolist())
    if latest:
        position = {key: i for i, key in enumerate(result.keys)}
        candidates |= {position[f"{t}{SEP}{v}"] for t, v in latest if f"{t}{SEP}{v}" in position}
    rows, moved_from, moved_to = [], set(), set()
    candidates = sorted(candidates)
    nodes = [tuple(result.keys[i].split(SEP, 1)) for i in candidates]
    stored_rows = scope.stored([node for node in nodes if node in previous])
    for i, node in zip(candidates, nodes):
        cdp_id = result.cdp_ids[i]
        stored = stored_rows.get(node)
        before = previous.get(node)
        if before is not None and before != cdp_id:
            moved_from.add(before)
            moved_to.add(cdp_id)
        seen_now = _dt(latest[node]) if node in latest else None
        newer = stored is not None and seen_now is not None and seen_now > stored["last_seen_at"]
        if stored is None or before != cdp_id or newer:
            seen = _dt(int(result.first_seen[i]))
            last = max(filter(None, (stored["last_seen_at"] if stored else seen, seen_now)))
            rows.append({"tenant_id": tenant.slug, "id_type": node[0], "id_value": node[1], "cdp_id": cdp_id,
                         "first_seen_at": stored["first_seen_at"] if stored else seen, "last_seen_at": last})
            outcome.changed += before != cdp_id
    assignment = None if result.all_previous_kept else outcome.assignment
    gone = [] if assignment is None else [node for node in previous if node not in assignment]  # blocked since
    for node in gone:
        moved_from.add(previous[node])
    with engine.transaction():
        if rows:
            engine.upsert(IDENTITIES, rows)
        # A new blocked pattern can take thousands of identifiers at once: one statement per type
        # and chunk of values, not one per identifier.
        by_type: dict[str, list[str]] = {}
        for id_type, value in gone:
            by_type.setdefault(id_type, []).append(value)
        for id_type, values in sorted(by_type.items()):
            for chunk in _chunks(values, engine, writes=True):
                engine.delete_where(IDENTITIES, "tenant_id = :tenant_id AND id_type = :id_type AND id_value IN :values",
                                    {"tenant_id": tenant.slug, "id_type": id_type, "values": chunk})
        anchors = result.anchors
        if anchors:
            engine.insert_many(CUSTOMER_IDS, [{"tenant_id": tenant.slug, "cdp_id": cdp_id, "id_type": node[0], "id_value": node[1],
                                               "issued_at": now} for cdp_id, node in anchors.items()], skip_existing=True)
        if moved_from:
            live = set(result.cdp_ids)
            outcome.affected = moved_from | moved_to
            _follow_identifiers(engine, tenant.slug, outcome.assignment, moved_from, moved_to, live, previous, rules)
        _log(engine, tenant.slug, result, run_id, now)
    return outcome


def _log(engine, tenant: str, result: Resolution, run_id, now) -> None:
    if result.merges:
        engine.insert_many(MERGES, [{
            "tenant_id": tenant, "merge_id": uuid.uuid4().hex, "cdp_id": m.survivor, "merged_cdp_id": m.merged,
            "a_type": m.edge[0][0], "a_value": m.edge[0][1], "b_type": m.edge[1][0], "b_value": m.edge[1][1],
            "message_id": m.message_id, "rule": m.rule, "run_id": run_id, "merged_at": now} for m in result.merges])
    if result.conflicts:
        engine.upsert(CONFLICTS, [{
            "tenant_id": tenant, "a_type": c.edge[0][0], "a_value": c.edge[0][1], "b_type": c.edge[1][0], "b_value": c.edge[1][1],
            "reason": c.reason, "cdp_id": c.cdp_ids[0], "other_cdp_id": c.cdp_ids[1], "message_id": c.message_id,
            "detected_at": now} for c in result.conflicts])


def _follow_identifiers(engine, tenant: str, assignment, moved_from: set[str], moved_to: set[str], live: set[str], previous,
                        rules: Rules) -> None:
    """Events, traits and consent of customers that merged or split go where their identifiers went."""
    events, owners = [], set(moved_from | moved_to)
    for chunk in _chunks(owners, engine):
        events.extend(engine.execute(sql.EVENTS_OF_CUSTOMERS, {"tenant_id": tenant, "cdp_ids": chunk}).dicts())
    changed = []
    for event in events:
        nodes = call_identifiers(_event_call(event), rules)
        owner = next((assignment[node] for node in nodes if node in assignment), None)
        if owner != event["cdp_id"]:
            changed.append({**event, "cdp_id": owner})
            event["cdp_id"] = owner
    if changed:
        engine.upsert(EVENTS, changed)
    # Traits are rebuilt from the identify and group calls each customer now owns.
    for chunk in _chunks(owners, engine, writes=True):
        engine.delete_where(TRAITS, "tenant_id = :tenant_id AND cdp_id IN :cdp_ids", {"tenant_id": tenant, "cdp_ids": chunk})
    trait_rows = []
    for event in events:
        if event["cdp_id"] and event["type"] in ("identify", "group") and event["traits"]:
            trait_rows.extend(trait_rows_from_call(tenant, event["cdp_id"], _event_call(event), event["event_time"]))
    if trait_rows:
        traits_save(engine, trait_rows)
    _move_consent(engine, tenant, assignment, moved_from - live, previous)
    from customers.computed_traits import computed_traits_for_customers

    computed_traits_for_customers(engine, tenant, owners & live)


def _event_call(event: dict) -> dict:
    """A stored event as the call it came from, as far as identifiers and traits go."""
    return {"type": event["type"], "userId": event["user_id"], "anonymousId": event["anonymous_id"], "groupId": event.get("group_id"),
            "traits": json.loads(event["traits"]) if event["traits"] else None, "context": json.loads(event["context"] or "{}")}


def _move_consent(engine, tenant: str, assignment, retired: set[str], previous) -> None:
    """A merged customer's consent goes to the customer that absorbed its identifiers (when they went
    to several at once, the one holding its first identifier by type and value, so it is deterministic)."""
    if not retired:
        return
    target = {}
    for node, before in sorted(previous.items(), key=lambda item: item[0]):
        if before in retired and before not in target and node in assignment:
            target[before] = assignment[node]
    moved = []
    for chunk in _chunks(retired, engine, writes=True):
        for row in engine.execute(sql.CONSENTS_OF_CUSTOMERS, {"tenant_id": tenant, "cdp_ids": chunk}):
            if row["cdp_id"] in target:
                moved.append({**row, "cdp_id": target[row["cdp_id"]]})
        engine.delete_where(CONSENTS, "tenant_id = :tenant_id AND cdp_id IN :cdp_ids", {"tenant_id": tenant, "cdp_ids": chunk})
    if moved:
        engine.upsert(CONSENTS, moved, newer="updated_at")


# --- runs, un-merge, rules ---------------------------------------------------------------------

def run_start(*, tenant: TenantRef, kind: str, trigger: str) -> IdentityRun:
    return IdentityRun.objects.create(tenant_id=tenant.id, kind=kind, trigger=trigger)


def run_execute(run: IdentityRun, *, progress: Callable[[str], None] = lambda message: None) -> IdentityRun:
    """Carry out a started run over the whole tenant (loads resolve what they touch by themselves).
    Failures are recorded on the run and raised."""
    tenant = Tenant.objects.get(id=run.tenant_id)
    ref = TenantRef(id=tenant.id, slug=tenant.slug, name=tenant.name)
    try:
        progress("reading edges and identities")
        outcome = resolve_and_apply(get_engine(), ref, seeds=None, run_id=run.id, progress=progress)
    except Exception as exc:
        IdentityRun.objects.filter(id=run.id).update(state="failed", error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=dj_timezone.now())
        raise
    progress(f"{outcome.customers} customers, {outcome.changed} identifiers changed, {outcome.merges} merges, {outcome.conflicts} conflicts")
    for name in ("identifiers", "edges", "customers", "changed", "merges", "conflicts"):
        setattr(run, name, getattr(outcome, name))
    run.state, run.finished_at = "succeeded", dj_timezone.now()
    run.save()
    return run


def customer_unmerge(*, tenant: TenantRef, cdp_id: str, id_type: str, id_value: str, other_type: str = "", other_value: str = "",
                     reason: str = "", actor: str) -> Outcome:
    """Block an identifier (or the edge between two) and re-resolve the customer: it splits; the part
    holding its oldest identifier keeps the id, the others get new ids, and data follows."""
    engine = get_engine()
    nodes = {(r["id_type"], r["id_value"]) for r in engine.execute(sql.IDENTITIES_BY_CUSTOMERS, {"tenant_id": tenant.slug, "cdp_ids": [cdp_id]})}
    if not nodes:
        raise NotFound(f"No customer {cdp_id} in this tenant.")
    named = [(id_type, id_value)] + ([(other_type, other_value)] if other_type else [])
    missing = [f"{t}:{v}" for t, v in named if (t, v) not in nodes]
    if missing:
        raise InvalidInput(f"{', '.join(missing)} is not an identifier of {cdp_id}.",
                           errors=[{"field": "value", "message": "name one of the customer's identifiers"}])
    with transaction.atomic():
        IdentityBlock.objects.get_or_create(tenant_id=tenant.id, id_type=id_type, id_value=id_value, other_type=other_type,
                                            other_value=other_value, defaults={"reason": reason, "created_by": actor})
    run = run_start(tenant=tenant, kind="unmerge", trigger=actor)
    outcome = resolve_and_apply(engine, tenant, seeds=nodes, run_id=run.id)
    IdentityRun.objects.filter(id=run.id).update(state="succeeded", finished_at=dj_timezone.now(), identifiers=outcome.identifiers,
                                                 edges=outcome.edges, customers=outcome.customers, changed=outcome.changed,
                                                 merges=outcome.merges, conflicts=outcome.conflicts)
    audit_record(tenant=tenant, actor=actor, action="identity.unmerge", target=cdp_id,
                 details={"blocked": named, "customers_after": len({outcome.assignment[n] for n in nodes if n in outcome.assignment})})
    return outcome


def rules_update(*, tenant: TenantRef, data: dict, actor: str) -> Rules:
    """Save new rules and rebuild the tenant's identities under them."""
    rules = rules_checked(data)
    IdentitySettings.objects.update_or_create(tenant_id=tenant.id, defaults={"rules": rules.as_dict(), "updated_by": actor})
    audit_record(tenant=tenant, actor=actor, action="identity.rules", target=tenant.slug, details=rules.as_dict())
    run_execute(run_start(tenant=tenant, kind="full", trigger=f"rules changed by {actor}"))
    return rules


def rules_preview(*, tenant: TenantRef, data: dict) -> dict:
    """What the proposed rules would do, before applying them: customers that would merge or split."""
    rules = rules_checked(data)
    engine = get_engine()
    scope = _whole_tenant(engine, tenant.slug)
    blocked_nodes, blocked_edges = _blocks(tenant.id)
    previous = scope.previous()
    result = resolve(tenant.slug, _graph(scope), rules, previous=previous, blocked_nodes=blocked_nodes, blocked_edges=blocked_edges)
    after = result.assignment()
    new_of, old_of = defaultdict(set), defaultdict(set)
    for node, before in previous.items():
        new_of[before].add(after.get(node))
        if node in after:
            old_of[after[node]].add(before)
    return {
        "customers_now": len(set(previous.values())),
        "customers_after": result.customers,
        "customers_that_would_merge": sum(len(olds) for olds in old_of.values() if len(olds) > 1),
        "customers_that_would_split": sum(1 for news in new_of.values() if len(news - {None}) > 1),
        "identifiers_no_longer_resolved": sum(1 for node in previous if node not in after),
        "conflicts": len(result.conflicts),
    }


def identity_erase(engine, tenant: str, cdp_id: str, identifiers: list[Node]) -> None:
    """Erasure: the customer's edges, issued ids, merge log and conflicts go with it."""
    values = sorted({value for _, value in identifiers})
    for chunk in _chunks(values, engine, writes=True):
        params = {"tenant_id": tenant, "values": chunk}
        engine.delete_where(EDGES, "tenant_id = :tenant_id AND (a_value IN :values OR b_value IN :values)", params)
        engine.delete_where(CUSTOMER_IDS, "tenant_id = :tenant_id AND id_value IN :values", params)
        engine.delete_where(CONFLICTS, "tenant_id = :tenant_id AND (a_value IN :values OR b_value IN :values)", params)
    engine.delete_where(MERGES, "tenant_id = :tenant_id AND (cdp_id = :cdp_id OR merged_cdp_id = :cdp_id)", {"tenant_id": tenant, "cdp_id": cdp_id})
