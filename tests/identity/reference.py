"""The resolution rule stated as plainly as possible: the yardstick for every engine and for the
columnar implementation. Edges in time order; join unless a type's limit would be broken."""
from __future__ import annotations

from collections import Counter

from identity.ids import SEP, derive_one


def reference_resolve(tenant_id, edges, nodes, rules):
    """edges: [(a, b, seen_at, message_id)], nodes: {node: seen_at}. Returns (assignment, conflicts)."""
    def key(node):
        return f"{node[0]}{SEP}{node[1]}"

    ok = lambda node: not rules.is_blocked(node[1])  # noqa: E731
    edges = [(min(a, b), max(a, b), t, m) for a, b, t, m in edges if ok(a) and ok(b) and a != b]
    edges.sort(key=lambda e: (e[2], e[3], key(e[0]), key(e[1])))
    first = {n: t for n, t in nodes.items() if ok(n)}
    for a, b, t, _ in edges:
        first[a] = min(first.get(a, t), t)
        first[b] = min(first.get(b, t), t)
    parent = {n: n for n in first}
    members = {n: [n] for n in first}

    def find(n):
        while parent[n] != n:
            n = parent[n]
        return n

    conflicts = []
    for a, b, _t, _m in edges:
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        counts = Counter(n[0] for n in members[ra] + members[rb])
        if any(count > rules.limit(id_type) for id_type, count in counts.items()):
            conflicts.append((a, b))
            continue
        parent[ra] = rb
        members[rb] += members.pop(ra)
    assignment = {}
    for _root, group in members.items():
        anchor = min(group, key=lambda n: (first[n], rules.rank(n[0]), key(n)))
        for n in group:
            assignment[n] = derive_one(tenant_id, *anchor)
    return assignment, conflicts
