"""Reading what a run resolves: a closed scope of edges and stored identities.

A scope is whole components: the identifiers a run starts from, every identifier reachable from
them through recorded edges, and every identifier of the customers those belong to. A whole
tenant (full rebuilds) is read as Arrow, so millions of rows never become Python objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from identity import sql
from identity.identifiers import Node
from identity.resolution import SEP, Graph, micros_of
from identity.rules import Rules


@dataclass
class Scope:
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


def component_scope(engine, slug: str, seeds: set[Node], rules: Rules, blocked_nodes: set[Node] = frozenset(),
           blocked_edges: set[frozenset] = frozenset()) -> Scope:
    """Every edge and identity reachable from the seeds, plus whole customers. Blocked identifiers
    and edges take no part in resolution, so the search does not go through them either: a blocked
    kiosk seen with thousands of people no longer ties them into one scope."""
    def blocked(node: Node) -> bool:
        return node in blocked_nodes or rules.is_blocked(node[1])

    scope, seen_values, seen_customers = Scope(), set(), set()
    frontier = {node[1] for node in seeds if not blocked(node)}
    while frontier:
        seen_values |= frontier
        customers, reached = set(), set()
        for chunk in engine.chunks(frontier):
            for row in engine.execute(sql.EDGES_FOR_VALUES, {"tenant_id": slug, "values": chunk}):
                a, b = (row["a_type"], row["a_value"]), (row["b_type"], row["b_value"])
                if blocked(a) or blocked(b) or frozenset((a, b)) in blocked_edges:
                    continue
                scope.edges[(*a, *b)] = row
                reached |= {a[1], b[1]}
            for row in engine.execute(sql.IDENTITIES_BY_VALUES, {"tenant_id": slug, "values": chunk}):
                scope.identities[(row["id_type"], row["id_value"])] = row
                customers.add(row["cdp_id"])
        for chunk in engine.chunks(customers - seen_customers):
            for row in engine.execute(sql.IDENTITIES_BY_CUSTOMERS, {"tenant_id": slug, "cdp_ids": chunk}):
                scope.identities[(row["id_type"], row["id_value"])] = row
        seen_customers |= customers
        reached |= {node[1] for node in scope.identities if not blocked(node)}
        frontier = reached - seen_values
    return scope


def whole_tenant(engine, slug: str) -> Scope:
    # A tenant's largest reads, as Arrow: on Spark and Databricks no Python object per value, the
    # edges go into resolution (which works in Arrow) as they are, and of the stored identities only
    # those a run rewrites ever become Python rows (`Scope.stored`).
    return Scope(edge_table=engine.arrow(sql.ALL_EDGES, {"tenant_id": slug}),
                  identity_table=engine.arrow(sql.ALL_IDENTITIES, {"tenant_id": slug}))


def scope_graph(scope: Scope, extra: Graph | None = None) -> Graph:
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
