"""Resolution: identifiers and the edges between them in, one customer per identifier out.

The rule (the one `tests/identity/reference.py` states in a dozen lines): take the edges in time
order (then messageId, then the identifiers); join the two customers an edge connects unless the
joined customer would hold more identifiers of a type than the type's limit (two `user_id`s, with
the default limit of one) -- such an edge is a conflict, kept with its reason. Blocked values and
blocked edges take no part.

Computed columnar, for millions of edges: identifiers are interned with Arrow, connected
components come from scipy, and only components that could break a limit, or that join customers
which existed before, are replayed edge by edge in Python. Joining everything is what the edge-by-
edge replay would do anyway for a component that never comes near a limit (counts only grow), so
the shortcut changes no result.

Ids are stable. A customer keeps its `cdp_id` while it keeps the identifier it was first seen
with; when customers join, the one first seen earliest survives and the others become aliases.
A new customer's id is derived from its oldest identifier (`identity.ids`), so re-running gives
the same ids.
"""
from __future__ import annotations

import gc
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from identity.ids import SEP, derive, derive_one  # SEP: between type and value in an interned identifier key
from identity.rules import Rules

Node = tuple[str, str]


def micros(value: datetime) -> int:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return int(value.timestamp() * 1_000_000)


def micros_of(values: list[datetime]) -> list[int]:
    """micros() of many datetimes at once (Arrow converts them in C; naive ones count as UTC)."""
    return pa.array(values, pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()


@dataclass
class Graph:
    """Edges (and identifiers seen alone) as columns: Python lists, or Arrow arrays as an engine
    read them (add_edge and add_node then do not apply). `seen_at` in microseconds since the epoch."""

    a_type: list[str] | pa.Array = field(default_factory=list)
    a_value: list[str] | pa.Array = field(default_factory=list)
    b_type: list[str] | pa.Array = field(default_factory=list)
    b_value: list[str] | pa.Array = field(default_factory=list)
    seen_at: list[int] | pa.Array = field(default_factory=list)
    message_id: list[str] | pa.Array = field(default_factory=list)
    node_type: list[str] | pa.Array = field(default_factory=list)
    node_value: list[str] | pa.Array = field(default_factory=list)
    node_seen_at: list[int] | pa.Array = field(default_factory=list)

    def add_edge(self, a: Node, b: Node, seen_at: int, message_id: str) -> None:
        if b < a:
            a, b = b, a
        self.a_type.append(a[0]), self.a_value.append(a[1]), self.b_type.append(b[0]), self.b_value.append(b[1])
        self.seen_at.append(seen_at), self.message_id.append(message_id)

    def add_node(self, node: Node, seen_at: int) -> None:
        self.node_type.append(node[0]), self.node_value.append(node[1]), self.node_seen_at.append(seen_at)

    def joined(self, other: Graph) -> Graph:
        """This graph's edges and identifiers, then the other's (lists stay lists)."""
        columns = {}
        for name in self.__dataclass_fields__:
            first, second = getattr(self, name), getattr(other, name)
            both_lists = isinstance(first, list) and isinstance(second, list)
            columns[name] = first + second if both_lists else _arrow_column(
                first, second, kind=pa.int64() if name.endswith("seen_at") else pa.string())
        return Graph(**columns)


def _arrow_column(*parts, kind: pa.DataType) -> pa.Array:
    """Columns (lists or Arrow arrays) end to end as one Arrow array; lists are joined first, so
    they cross into Arrow in one conversion."""
    if all(isinstance(part, list) for part in parts):
        joined: list = []
        for part in parts:
            joined += part
        return pa.array(joined, kind)
    return pa.concat_arrays([part.cast(kind) if isinstance(part, pa.Array) else pa.array(part, kind) for part in parts])


def _pick(column, positions: list[int]) -> list:
    """Values of a column (list or Arrow array) at some positions."""
    if isinstance(column, list):
        return [column[i] for i in positions]
    return column.take(pa.array(positions, pa.int64())).to_pylist()


@dataclass(frozen=True)
class Merge:
    survivor: str
    merged: str
    edge: tuple[Node, Node]
    message_id: str
    seen_at: int
    rule: str


@dataclass(frozen=True)
class Conflict:
    edge: tuple[Node, Node]
    message_id: str
    seen_at: int
    reason: str
    cdp_ids: tuple[str, str]


@dataclass
class Resolution:
    keys: list[str]  # every identifier taking part, as "type<SEP>value"
    cdp_ids: list[str]  # the customer of each, in the same order
    first_seen: np.ndarray  # microseconds, same order
    merges: list[Merge]
    conflicts: list[Conflict]
    issued: dict[str, Node]  # ids issued one by one -> the identifier each is derived from
    issued_rows: list  # ids issued in bulk, with their anchors' rows in `keys`
    customers: int
    old: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # per key: its customer before, in old_ids (-1: new)
    old_ids: list[str] = field(default_factory=list)
    previous_count: int = 0  # identifiers in the previous assignment

    @property
    def anchors(self) -> dict[str, Node]:
        """Every id this run issued -> the identifier it is derived from."""
        out = dict(self.issued)
        for ids, rows in self.issued_rows:
            out.update(zip(ids, (tuple(self.keys[row].split(SEP, 1)) for row in rows)))
        return out

    def assignment(self) -> dict[Node, str]:
        return {tuple(key.split(SEP, 1)): cdp_id for key, cdp_id in zip(self.keys, self.cdp_ids)}

    def changes(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions in `keys` of the identifiers that are new, and of those whose customer changed:
        compared as arrays, so a rebuild that changes little costs little to diff."""
        new = self.old < 0
        if not len(self.keys):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        before = np.array([*self.old_ids, None], dtype=object)[self.old]
        moved = ~new & (np.array(self.cdp_ids, dtype=object) != before)
        return np.flatnonzero(new), np.flatnonzero(moved)

    @property
    def all_previous_kept(self) -> bool:
        """Whether every identifier of the previous assignment is still resolved (none blocked since)."""
        return int((self.old >= 0).sum()) == self.previous_count


def resolve(slug: str, graph: Graph, rules: Rules, *, previous: dict[Node, str] | None = None,
            blocked_nodes: set[Node] = frozenset(), blocked_edges: set[frozenset] = frozenset(),
            taken_ids: set[str] = frozenset()) -> Resolution:
    """Resolve a closed set of identifiers (whole components). `previous` is the assignment before,
    for stable ids and the merge log; `taken_ids` are ids live outside this set (never reissued)."""
    previous = previous or {}
    # Millions of short-lived strings and no cycles: the cyclic collector would only rescan them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _resolve(slug, graph, rules, previous, blocked_nodes, blocked_edges, taken_ids)
    finally:
        if collecting:
            gc.enable()


@dataclass
class _Run:
    """One resolution's shared state, handed to each step instead of a long list of arguments."""

    slug: str
    rules: Rules
    interned: _Interned
    labels: np.ndarray  # per identifier, its connected component
    key_list: list[str]  # per identifier, "type<SEP>value"
    old: np.ndarray  # per identifier, its customer before as a position in old_ids (-1: new)
    old_ids: list[str]
    rank: np.ndarray  # per identifier, its type's priority (lower is stronger)

    @property
    def first_seen(self) -> np.ndarray:
        return self.interned.first_seen


def _resolve(slug, graph, rules, previous, blocked_nodes, blocked_edges, taken_ids) -> Resolution:
    interned = _intern(graph, rules, blocked_nodes, blocked_edges)
    keys, node_type, type_names, src, seen = interned.keys, interned.node_type, interned.type_names, interned.src, interned.seen
    n_nodes = len(keys)
    owners = _previous_owners(keys, previous)
    rank = np.array([rules.rank(name) for name in type_names], dtype=np.int64)[node_type] if n_nodes else np.zeros(0, np.int64)
    run = _Run(slug=slug, rules=rules, interned=interned, labels=_components(n_nodes, src, interned.dst),
               key_list=keys.to_pylist(), old=owners.old, old_ids=owners.old_ids, rank=rank)
    replay = _components_to_replay(run)
    state = _IdState(run, used=set(taken_ids) | set(run.old_ids))
    cdp = _assign_whole(run, replay, state)

    merges, conflicts = [], []
    if replay.any():
        key_list, dst = run.key_list, interned.dst
        rows = np.flatnonzero(replay[run.labels[src]])
        message_ids = _pick(graph.message_id, interned.rows[rows].tolist())
        ordered = sorted(range(len(rows)), key=lambda k: (int(seen[rows[k]]), message_ids[k], key_list[src[rows[k]]], key_list[dst[rows[k]]]))
        replayed = _replay(run, rows[ordered], [message_ids[k] for k in ordered], replay)
        _assign_replayed(run, replayed, cdp, state, merges, conflicts)
    cdp_ids = cdp.tolist()
    return Resolution(keys=run.key_list, cdp_ids=cdp_ids, first_seen=run.first_seen, merges=merges, conflicts=conflicts,
                      issued=state.issued, issued_rows=state.issued_rows, customers=len(set(cdp_ids)), old=run.old, old_ids=run.old_ids,
                      previous_count=len(previous))


class Owners(NamedTuple):
    old: np.ndarray  # per identifier, the position of its customer before in old_ids (-1: new)
    old_ids: list[str]


class Anchors(NamedTuple):
    labels: np.ndarray  # one per label (component or group)
    rows: np.ndarray  # its anchor identifier's row


def _previous_owners(keys: pa.Array, previous: dict[Node, str]) -> Owners:
    """Per identifier, the index of the customer it belonged to before (-1: new), and those
    customers' ids. Set-based: one hash lookup of every key among the previous ones."""
    old = np.full(len(keys), -1, dtype=np.int64)
    if not previous:
        return Owners(old, [])
    before = pa.array([f"{t}{SEP}{v}" for t, v in previous], pa.string())
    owners = pc.dictionary_encode(pa.array(list(previous.values()), pa.string()))
    at = pc.fill_null(pc.index_in(keys, value_set=before), -1).to_numpy(zero_copy_only=False).astype(np.int64)
    found = at >= 0
    old[found] = owners.indices.to_numpy(zero_copy_only=False)[at[found]]
    return Owners(old, owners.dictionary.to_pylist())


def _anchors(run: _Run, labels: np.ndarray, rows: np.ndarray) -> Anchors:
    """Per label among `rows`, its anchor: the oldest identifier, then by type priority, then by
    key. One (label, anchor row) pair per label. Set-based: a per-label minimum of (first seen,
    priority), and a sort only among the ties (two anonymous ids seen in one call)."""
    first_seen, rank, key_list = run.first_seen, run.rank, run.key_list
    if not len(rows):
        return Anchors(np.zeros(0, np.int64), np.zeros(0, np.int64))
    lab = labels[rows]
    n_labels = int(lab.max()) + 1
    scale = int(rank.max()) + 1 if len(rank) else 1
    seen = first_seen[rows]
    if int(np.abs(seen).max()) < (2**62) // scale:
        order = seen * scale + rank[rows]
        best = np.full(n_labels, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(best, lab, order)
        winners = order == best[lab]
    else:  # times too large to pack with the priority: compare them in turn
        best_seen = np.full(n_labels, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(best_seen, lab, seen)
        oldest = seen == best_seen[lab]
        best_rank = np.full(n_labels, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(best_rank, lab[oldest], rank[rows][oldest])
        winners = oldest & (rank[rows] == best_rank[lab])
    per_label = np.bincount(lab[winners], minlength=n_labels)
    single = winners & (per_label[lab] == 1)
    out_labels, out_rows = [lab[single]], [rows[single]]
    tied = winners & (per_label[lab] > 1)
    if tied.any():
        candidates, candidate_labels = rows[tied], lab[tied]
        key_rank = np.empty(len(candidates), dtype=np.int64)
        key_rank[pc.sort_indices(pa.array([key_list[row] for row in candidates.tolist()], pa.string())).to_numpy()] = np.arange(len(candidates))
        settled = np.lexsort((key_rank, candidate_labels))
        firsts = settled[np.flatnonzero(np.r_[True, candidate_labels[settled][1:] != candidate_labels[settled][:-1]])]
        out_labels.append(candidate_labels[firsts])
        out_rows.append(candidates[firsts])
    return Anchors(np.concatenate(out_labels), np.concatenate(out_rows))


def _assign_whole(run: _Run, replay: np.ndarray, state: _IdState) -> np.ndarray:
    """Components joined in full: one customer each, keeping its one old id, or a new id derived
    from its anchor."""
    labels, old, old_ids = run.labels, run.old, run.old_ids
    cdp = np.empty(len(labels), dtype=object)
    n_labels = len(replay)
    rows = np.flatnonzero(~replay[labels]) if n_labels else np.zeros(0, np.int64)
    owner = np.full(n_labels, -1, dtype=np.int64)
    if len(old):
        np.maximum.at(owner, labels, old)
    anchor_labels, anchor_rows = _anchors(run, labels, rows)
    ids = np.empty(n_labels, dtype=object)
    kept = owner[anchor_labels] >= 0
    if kept.any():
        ids[anchor_labels[kept]] = np.array(old_ids, dtype=object)[owner[anchor_labels[kept]]]
    fresh = np.empty(int((~kept).sum()), dtype=object)
    fresh[:] = state.new_ids(anchor_rows[~kept].tolist())
    ids[anchor_labels[~kept]] = fresh
    cdp[rows] = ids[labels[rows]]
    return cdp


@dataclass
class _Interned:
    """The graph as integers: every identifier taking part gets a code, in the order of `keys`."""

    keys: pa.Array  # "type<SEP>value" per code
    node_type: np.ndarray  # per code, its type's position in type_names
    type_names: list[str]
    first_seen: np.ndarray  # per code, microseconds
    src: np.ndarray  # the kept edges' ends, as codes
    dst: np.ndarray
    seen: np.ndarray  # the kept edges' times
    rows: np.ndarray  # the kept edges' positions in the graph


def _intern(graph: Graph, rules: Rules, blocked_nodes, blocked_edges) -> _Interned:
    """Every identifier as a dense integer, leaving out blocked values, blocked edges and edges
    from an identifier to itself. Interned one type at a time: smaller hash tables than one over
    "type+value" strings (about 2x faster at millions of identifiers), and no such strings to build
    except one per distinct identifier. The rules' blocked patterns are matched once per distinct
    value, not once per endpoint."""
    n_edges = len(graph.seen_at)
    types = pc.dictionary_encode(_arrow_column(graph.a_type, graph.b_type, graph.node_type, kind=pa.string()))
    type_codes, type_names = types.indices.to_numpy(zero_copy_only=False), types.dictionary.to_pylist()
    values = _arrow_column(graph.a_value, graph.b_value, graph.node_value, kind=pa.string())

    codes = np.empty(len(values), dtype=np.int64)
    distinct, blocked, offsets, offset = [], [], {}, 0
    for position, name in enumerate(type_names):
        where = np.flatnonzero(type_codes == position)
        encoded = pc.dictionary_encode(values.take(where), null_encoding="encode")
        codes[where] = encoded.indices.to_numpy(zero_copy_only=False) + offset
        block = _blocked(encoded.dictionary, rules)
        if blocked_nodes:
            block = pc.or_(block, pc.is_in(encoded.dictionary, value_set=pa.array(
                [value for id_type, value in blocked_nodes if id_type == name], pa.string())))
        distinct.append(encoded.dictionary)
        blocked.append(block.to_numpy(zero_copy_only=False))
        offsets[name] = (offset, encoded.dictionary)
        offset += len(encoded.dictionary)
    is_blocked = np.concatenate(blocked) if blocked else np.zeros(0, dtype=bool)

    src, dst, alone = codes[:n_edges], codes[n_edges:2 * n_edges], codes[2 * n_edges:]
    keep = ~is_blocked[src] & ~is_blocked[dst] & (src != dst)
    if blocked_edges:  # each blocked pair as one number (lower code, higher code)
        def code(node: Node) -> int:
            start, values_of_type = offsets.get(node[0], (0, pa.array([], pa.string())))
            at = pc.index_in(pa.array([node[1]], pa.string()), value_set=values_of_type)[0].as_py()
            return -1 if at is None else start + at
        pairs = [sorted(code(node) for node in pair) for pair in blocked_edges]
        banned = np.array([low * offset + high for low, high in pairs if low >= 0], dtype=np.int64)
        keep &= ~np.isin(np.minimum(src, dst) * offset + np.maximum(src, dst), banned)
    rows, alone_kept = np.flatnonzero(keep), ~is_blocked[alone]
    src, dst, alone = src[rows], dst[rows], alone[alone_kept]

    # Only identifiers on a kept edge or seen alone take part: number those densely.
    present = np.zeros(offset, dtype=bool)
    present[src], present[dst], present[alone] = True, True, True
    keys = pa.concat_arrays([pc.binary_join_element_wise(name, part, SEP) for name, part in zip(type_names, distinct)]) \
        if distinct else pa.array([], pa.string())
    node_type = np.repeat(np.arange(len(type_names), dtype=np.int64), [len(part) for part in distinct])
    if not present.all():
        renumber = np.cumsum(present) - 1
        src, dst, alone = renumber[src], renumber[dst], renumber[alone]
        keys, node_type = keys.filter(pa.array(present)), node_type[present]

    seen = np.asarray(graph.seen_at, dtype=np.int64)[rows]
    first_seen = np.full(len(keys), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_seen, src, seen)
    np.minimum.at(first_seen, dst, seen)
    np.minimum.at(first_seen, alone, np.asarray(graph.node_seen_at, dtype=np.int64)[alone_kept])
    return _Interned(keys=keys, node_type=node_type, type_names=type_names, first_seen=first_seen,
                     src=src, dst=dst, seen=seen, rows=rows)


def _blocked(values, rules: Rules):
    """Which values the rules block (and missing ones). Arrow's RE2 does it in C; patterns RE2
    cannot read fall back to Python."""
    if not rules.blocked:
        return pc.is_null(values)
    pattern = "^(?:" + "|".join(f"(?:{p})" for p in rules.blocked) + ")$"
    trimmed = pc.utf8_trim_whitespace(values)
    try:
        return pc.fill_null(pc.match_substring_regex(trimmed, pattern, ignore_case=True), True)
    except pa.ArrowInvalid:
        return pa.array([v is None or rules.is_blocked(v) for v in values.to_pylist()])


def _components(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n)).tocsr()
    return connected_components(graph, directed=False)[1].astype(np.int64)


def _components_to_replay(run: _Run) -> np.ndarray:
    """Per component: must it be replayed edge by edge? Yes when it holds more identifiers of a
    type than the limit, joins several customers that existed before, or holds only part of one
    (a customer being split)."""
    labels, old, rules = run.labels, run.old, run.rules
    node_type, type_names = run.interned.node_type, run.interned.type_names
    n_labels = int(labels.max()) + 1 if len(labels) else 0
    counts = np.bincount(labels * len(type_names) + node_type, minlength=n_labels * len(type_names)).reshape(n_labels, len(type_names))
    limits = np.array([rules.limit(name) for name in type_names], dtype=np.int64)
    replay = (counts > limits).any(axis=1)
    with_old = old >= 0
    if with_old.any():
        pairs = np.unique(np.stack([labels[with_old], old[with_old]]), axis=1)
        replay |= np.bincount(pairs[0], minlength=n_labels) > 1
        split = np.bincount(pairs[1]) > 1
        replay[pairs[0][split[pairs[1]]]] = True
    return replay


def _group_rows(labels: np.ndarray) -> list[np.ndarray]:
    """Positions grouped by label."""
    if not len(labels):
        return []
    ordered = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[ordered])) + 1
    return np.split(ordered, cuts)


class _IdState:
    """Issues ids: customers that existed keep theirs where they keep their first identifier; new
    ones get an id derived from their oldest identifier (salted if that id is taken)."""

    def __init__(self, run: _Run, *, used: set[str]):
        self.slug, self.keys, self.old_ids, self.used = run.slug, run.key_list, run.old_ids, used
        self.issued: dict[str, Node] = {}
        self.issued_rows: list[tuple[list[str], list[int]]] = []
        # row -> (age rank, old id) for each old customer's first row: its anchor among its rows.
        first_seen, rank, keys, old_ids = run.first_seen, run.rank, run.key_list, run.old_ids
        owners, rows = _anchors(run, run.old, np.flatnonzero(run.old >= 0))
        self.claims: dict[int, tuple] = {
            row: ((int(first_seen[row]), int(rank[row]), keys[row]), old_ids[owner]) for owner, row in zip(owners.tolist(), rows.tolist())}

    def new_id(self, anchor: int) -> str:
        id_type, value = self.keys[anchor].split(SEP, 1)
        salt, cdp_id = 0, derive_one(self.slug, id_type, value)
        while cdp_id in self.used:
            salt += 1
            cdp_id = derive_one(self.slug, id_type, value, salt)
        self.used.add(cdp_id)
        self.issued[cdp_id] = (id_type, value)
        return cdp_id

    def new_ids(self, anchors: list[int]) -> list[str]:
        """new_id for many anchors at once: the hot path of a first resolution."""
        ids = derive(self.slug, [self.keys[a] for a in anchors])
        if self.used.isdisjoint(ids) and len(set(ids)) == len(ids):
            self.used.update(ids)
            self.issued_rows.append((ids, anchors))  # made into (type, value) pairs only when asked
            return ids
        return [self.new_id(a) for a in anchors]

    def id_for(self, rows: np.ndarray, anchor: int) -> str:
        """The oldest old customer whose first identifier is among these rows keeps its id."""
        claimants = [self.claims[row] for row in rows.tolist() if row in self.claims]
        return min(claimants)[1] if claimants else self.new_id(anchor)


class Join(NamedTuple):
    a: int  # the edge's identifiers
    b: int
    root_a: int  # the groups they were in before it joined them
    root_b: int
    seen_at: int
    message_id: str


class Refused(NamedTuple):
    a: int
    b: int
    seen_at: int
    message_id: str
    reason: str


class Replayed(NamedTuple):
    rows: np.ndarray  # the identifiers of the replayed components
    roots: np.ndarray  # per row, its group's root
    joins: list[Join]
    conflicts: list[Refused]


def _replay(run: _Run, edge_rows: np.ndarray, message_ids: list[str], replay: np.ndarray) -> Replayed:
    """The rule, edge by edge, for the components that need it: per component its groups, the
    joins (edge, groups on each side) and the edges refused (conflicts)."""
    rules, labels, interned = run.rules, run.labels, run.interned
    src, dst, seen, node_type, type_names = interned.src, interned.dst, interned.seen, interned.node_type, interned.type_names
    limits = [rules.limit(name) for name in type_names]
    user_type = type_names.index("user_id") if "user_id" in type_names else -1
    parent: dict[int, int] = {}
    counts: dict[int, Counter] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while x != root:
            parent[x], x = root, parent.get(x, x)
        return root

    joins, conflicts = [], []
    for position, row in enumerate(edge_rows):
        a, b = int(src[row]), int(dst[row])
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        ca = counts.get(ra) or Counter({int(node_type[ra]): 1})
        cb = counts.get(rb) or Counter({int(node_type[rb]): 1})
        broken = [t for t in set(ca) | set(cb) if ca[t] + cb[t] > limits[t]]
        if broken:
            t = min(broken, key=lambda k: rules.rank(type_names[k]))
            reason = "different user_id" if t == user_type and limits[t] == 1 else f"more than {limits[t]} {type_names[t]}"
            conflicts.append(Refused(a, b, int(seen[row]), message_ids[position], reason))
            continue
        if len(ca) + len(cb) and (ca.total() > cb.total() or (ca.total() == cb.total() and ra < rb)):
            ra, rb, ca, cb = rb, ra, cb, ca
        parent[ra] = rb
        counts[rb] = ca + cb
        counts.pop(ra, None)
        joins.append(Join(a, b, ra, rb, int(seen[row]), message_ids[position]))
    rows = np.flatnonzero(replay[labels])
    roots = np.fromiter((find(int(r)) for r in rows), dtype=np.int64, count=len(rows))
    return Replayed(rows=rows, roots=roots, joins=joins, conflicts=conflicts)


def _assign_replayed(run: _Run, replayed: Replayed, cdp: np.ndarray, state: _IdState, merges: list[Merge], conflicts: list[Conflict]):
    """Ids for the replayed groups (the oldest old customer among a group's anchors keeps its id),
    the merge log of customers that existed before and were joined, and the conflicts."""
    rows, roots, keys, old, old_ids = replayed.rows, replayed.roots, run.key_list, run.old, run.old_ids
    root_of = np.full(len(cdp), -1, dtype=np.int64)
    root_of[rows] = roots
    anchors = dict(zip(*(part.tolist() for part in _anchors(run, root_of, rows))))
    for members in _group_rows(roots):
        group = rows[members]
        cdp[group] = state.id_for(group, anchors[int(roots[members[0]])])
    node = lambda row: tuple(keys[row].split(SEP, 1))  # noqa: E731
    owners = lambda row: {old_ids[old[row]]} if old[row] >= 0 else set()  # noqa: E731
    # The merge log: each customer that existed before and was joined to another, with the edge that did it.
    held: dict[int, set] = {}
    logged: set[str] = set()
    for a, b, ra, rb, seen_at, message_id in replayed.joins:
        left, right = held.pop(ra, None), held.get(rb)
        left = owners(ra) if left is None else left
        right = owners(rb) if right is None else right
        if left and right and not (left <= right or right <= left):  # customers that had not met yet
            survivor = cdp[a]
            for merged in sorted((left | right) - {survivor} - logged):
                logged.add(merged)
                merges.append(Merge(survivor=survivor, merged=merged, edge=(node(a), node(b)), message_id=message_id, seen_at=seen_at,
                                    rule=f"{node(a)[0]} and {node(b)[0]} seen together"))
        held[rb] = left | right
    for a, b, seen_at, message_id, reason in replayed.conflicts:
        conflicts.append(Conflict(edge=(node(a), node(b)), message_id=message_id, seen_at=seen_at, reason=reason,
                                  cdp_ids=(cdp[a], cdp[b])))
