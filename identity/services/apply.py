"""Resolving a scope and writing what changed to identity's tables (and only those).

The result is compared with the stored map and only the differences are written: identities, ids
issued, the merge log and conflicts. Who moved comes back in the Outcome; the customers' data
(events, traits, consent) follows its identifiers in `customers`, which calls this and then
`customers.services.profiles_follow` in the same transaction.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from django.utils import timezone as dj_timezone

from identity import sql
from identity.identifiers import Node, call_identifiers
from identity.resolution import SEP, Graph, Resolution, resolve
from identity.rules import Rules
from identity.selectors import blocks_for, rules_for
from identity.services.scope import Scope, component_scope, scope_graph, whole_tenant
from identity.tables import CONFLICTS, CUSTOMER_IDS, EDGES, IDENTITIES, MERGES
from tenancy.types import TenantRef


@dataclass
class Outcome:
    """What a run changed, and who moved: the customers whose data must follow their identifiers."""

    identifiers: int = 0
    edges: int = 0
    customers: int = 0
    changed: int = 0
    merges: int = 0
    conflicts: int = 0
    affected: set[str] = field(default_factory=set)  # customers that gained or lost identifiers
    retired: dict[str, str | None] = field(default_factory=dict)  # gone -> who took its first identifier
    result: Resolution | None = field(default=None, repr=False)
    rules: Rules | None = field(default=None, repr=False)

    @cached_property
    def assignment(self) -> dict[Node, str]:
        """Identifier -> customer after the run (built when asked: millions of entries on a rebuild)."""
        return self.result.assignment() if self.result is not None else {}

    def owner_of(self, call: dict) -> str | None:
        """The customer a call belongs to after the run: the one holding its strongest identifier."""
        assignment = self.assignment
        return next((assignment[node] for node in call_identifiers(call, self.rules, frozenset()) if node in assignment), None)


def _dt(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)


def _successors(assignment: dict[Node, str], retired: set[str], previous: dict[Node, str]) -> dict[str, str | None]:
    """Each customer that no longer exists -> the customer that absorbed its identifiers (when
    they went to several at once, the one holding its first identifier by type and value, so it
    is deterministic); None when none of them is resolved any more."""
    target: dict[str, str | None] = dict.fromkeys(retired)
    for node, before in sorted((item for item in previous.items() if item[1] in retired), key=lambda item: item[0]):
        if target[before] is None and node in assignment:
            target[before] = assignment[node]
    return target


def resolve_and_apply(engine, tenant: TenantRef, *, seeds: set[Node] | None, new: Graph | None = None, run_id: int | None = None,
                      rules: Rules | None = None, now: datetime | None = None,
                      progress: Callable[[str], None] = lambda message: None) -> Outcome:
    """Resolve the components of `seeds` (None: the whole tenant) with the new edges, and write
    the differences. New edges are recorded first. `progress` hears each phase as it ends."""
    rules = rules or rules_for(tenant.id)
    now = now or dj_timezone.now()
    if new is not None and new.a_type:
        _record_edges(engine, tenant.slug, new)
    blocked_nodes, blocked_edges = blocks_for(tenant.id)
    started = time.perf_counter()
    scope = whole_tenant(engine, tenant.slug) if seeds is None else component_scope(engine, tenant.slug, seeds, rules, blocked_nodes, blocked_edges)
    progress(f"read {scope.edge_count:,} edges and {scope.identity_count:,} identifiers ({time.perf_counter() - started:.1f} s)")
    previous = scope.previous()
    started = time.perf_counter()
    result = resolve(tenant.slug, scope_graph(scope, new), rules, previous=previous, blocked_nodes=blocked_nodes, blocked_edges=blocked_edges)
    progress(f"resolved {len(result.keys):,} identifiers into {result.customers:,} customers, {len(result.merges):,} merges, "
             f"{len(result.conflicts):,} conflicts ({time.perf_counter() - started:.1f} s); writing what changed")
    latest: dict[Node, int] = {}
    if new is not None:  # when each identifier was last seen, from the calls being loaded
        for node in zip(new.node_type, new.node_value, new.node_seen_at):
            latest[node[:2]] = max(latest.get(node[:2], node[2]), node[2])
    started = time.perf_counter()
    outcome = _apply(engine, tenant, scope, result, rules=rules, previous=previous, run_id=run_id, now=now, latest=latest)
    progress(f"wrote {outcome.changed:,} changed identifiers; the data of {len(outcome.affected):,} customers follows them "
             f"({time.perf_counter() - started:.1f} s)")
    return outcome


def _record_edges(engine, slug: str, graph: Graph) -> None:
    rows = {}
    for a_type, a_value, b_type, b_value, seen_at, message_id in zip(graph.a_type, graph.a_value, graph.b_type, graph.b_value,
                                                                       graph.seen_at, graph.message_id):
        key = (a_type, a_value, b_type, b_value)
        if key not in rows or seen_at < rows[key]["first_seen_at"]:
            rows[key] = {"tenant_id": slug, "a_type": a_type, "a_value": a_value, "b_type": b_type, "b_value": b_value,
                         "first_seen_at": seen_at, "message_id": message_id}
    for row in rows.values():
        row["first_seen_at"] = _dt(row["first_seen_at"])
    engine.insert_many(EDGES, list(rows.values()), skip_existing=True)


def _apply(engine, tenant: TenantRef, scope: Scope, result: Resolution, *, rules: Rules, previous: dict[Node, str], run_id: int | None,
           now: datetime, latest: dict[Node, int]) -> Outcome:
    """Write what the resolution changed; `latest` is when each identifier of the calls being
    loaded was last seen."""
    outcome = Outcome(result=result, rules=rules, identifiers=len(result.keys), edges=scope.edge_count, customers=result.customers,
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
            for chunk in engine.chunks(values, writes=True):
                engine.delete(sql.DELETE_IDENTITIES_OF_TYPE, {"tenant_id": tenant.slug, "id_type": id_type, "values": chunk})
        anchors = result.anchors
        if anchors:
            engine.insert_many(CUSTOMER_IDS, [{"tenant_id": tenant.slug, "cdp_id": cdp_id, "id_type": node[0], "id_value": node[1],
                                               "issued_at": now} for cdp_id, node in anchors.items()], skip_existing=True)
        if moved_from:
            outcome.affected = moved_from | moved_to
            outcome.retired = _successors(outcome.assignment, moved_from - set(result.cdp_ids), previous)
        _log(engine, tenant.slug, result, run_id, now, _stored_conflicts(engine, tenant.slug, scope, previous))
    return outcome


Edge = tuple[str, str, str, str]  # a_type, a_value, b_type, b_value


def _stored_conflicts(engine, slug: str, scope: Scope, previous: dict[Node, str]) -> dict[Edge, datetime]:
    """The stored conflicts naming an identifier of the scope (every one of the tenant's for a
    whole rebuild), with when each was first detected."""
    if scope.identity_table is not None:
        rows = engine.execute(sql.ALL_CONFLICTS, {"tenant_id": slug})
    else:
        nodes = set(previous) | set(scope.identities)
        rows = [row for chunk in engine.chunks({value for _, value in nodes})
                for row in engine.execute(sql.CONFLICTS_OF_VALUES, {"tenant_id": slug, "values": chunk})
                if (row["a_type"], row["a_value"]) in nodes or (row["b_type"], row["b_value"]) in nodes]
    return {(r["a_type"], r["a_value"], r["b_type"], r["b_value"]): r["detected_at"] for r in rows}


def _log(engine, slug: str, result: Resolution, run_id, now, stored_conflicts: dict[Edge, datetime]) -> None:
    """The merge log gets this resolution's merges; the conflicts table becomes what holds now for
    the scope: conflicts refused again keep when they were first detected, and those that no
    longer hold (a side blocked since, a limit raised) are removed, so every count of conflicts
    (the Identity page, shared identifiers, the dashboard, a rebuild's figure) agrees."""
    if result.merges:
        engine.insert_many(MERGES, [{
            "tenant_id": slug, "merge_id": uuid.uuid4().hex, "cdp_id": m.survivor, "merged_cdp_id": m.merged,
            "a_type": m.edge[0][0], "a_value": m.edge[0][1], "b_type": m.edge[1][0], "b_value": m.edge[1][1],
            "message_id": m.message_id, "rule": m.rule, "run_id": run_id, "merged_at": now} for m in result.merges])
    detected = {(*c.edge[0], *c.edge[1]): c for c in result.conflicts}
    _conflicts_remove(engine, slug, [edge for edge in stored_conflicts if edge not in detected])
    if detected:
        engine.upsert(CONFLICTS, [{
            "tenant_id": slug, "a_type": edge[0], "a_value": edge[1], "b_type": edge[2], "b_value": edge[3],
            "reason": c.reason, "cdp_id": c.cdp_ids[0], "other_cdp_id": c.cdp_ids[1], "message_id": c.message_id,
            "detected_at": stored_conflicts.get(edge, now)} for edge, c in detected.items()])


def _conflicts_remove(engine, slug: str, stale: list[Edge]) -> None:
    """Delete these conflicts, grouped by the identifier they share (one side or the other,
    whichever makes fewer statements)."""
    if not stale:
        return
    by_a: dict[Node, list[str]] = {}
    by_b: dict[Node, list[str]] = {}
    for a_type, a_value, b_type, b_value in stale:
        by_a.setdefault((a_type, a_value), []).append(b_value)
        by_b.setdefault((b_type, b_value), []).append(a_value)
    statement, groups = (sql.DELETE_CONFLICTS_FROM_A, by_a) if len(by_a) <= len(by_b) else (sql.DELETE_CONFLICTS_TO_B, by_b)
    for (id_type, id_value), values in sorted(groups.items()):
        for chunk in engine.chunks(sorted(set(values)), writes=True):
            engine.delete(statement, {"tenant_id": slug, "id_type": id_type, "id_value": id_value, "values": chunk})
