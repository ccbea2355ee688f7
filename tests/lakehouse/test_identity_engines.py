"""Identity resolution gives the same customers on every engine as the plain rule does.

Random graphs with a hub identifier, junk values and limit conflicts are written to each engine's
edge table, resolved there, and read back; then more edges arrive and merge existing customers,
so the incremental path (events, traits and consent following identifiers) runs on each engine too.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.resolution import micros
from identity.services import resolve_and_apply
from identity.sql import ALL_IDENTITIES
from identity.tables import EDGES
from tenancy.types import TenantRef
from tests.identity.reference import reference_resolve
from tests.identity.test_resolution import random_graph

BASE = datetime(2026, 4, 1, tzinfo=UTC)


def _edge_rows(tenant_id, edges):
    rows = {}
    for a, b, at, message in edges:
        a, b = min(a, b), max(a, b)
        if a == b:
            continue
        key = (*a, *b)
        when = BASE + timedelta(minutes=at)
        if key not in rows or (when, message) < (rows[key]["first_seen_at"], rows[key]["message_id"]):
            rows[key] = {"tenant_id": tenant_id, "a_type": a[0], "a_value": a[1], "b_type": b[0], "b_value": b[1],
                         "first_seen_at": when, "message_id": message}
    return list(rows.values())


def _stored(engine, tenant_id):
    return {(r["id_type"], r["id_value"]): r["cdp_id"] for r in engine.execute(ALL_IDENTITIES, {"tenant_id": tenant_id})}


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [3, 11, 42])
def test_every_engine_resolves_like_the_reference(engine, tenant_id, seed):
    from identity.rules import Rules

    _, edges, _ = random_graph(seed, size=30)
    tenant = TenantRef(id=-1, slug=tenant_id, name=tenant_id)
    first, later = edges[: len(edges) // 2], edges[len(edges) // 2:]
    engine.insert_many(EDGES, _edge_rows(tenant_id, first))
    resolve_and_apply(engine, tenant, seeds=None, rules=Rules())
    # The reference sees edges at the stored (deduplicated, earliest) times, as the engine does.
    stored_edges = [((r["a_type"], r["a_value"]), (r["b_type"], r["b_value"]), micros(r["first_seen_at"]), r["message_id"])
                    for r in _edge_rows(tenant_id, first)]
    expected, _ = reference_resolve(tenant_id, stored_edges, {}, Rules())
    assert _stored(engine, tenant_id) == expected

    engine.insert_many(EDGES, _edge_rows(tenant_id, later), skip_existing=True)
    resolve_and_apply(engine, tenant, seeds=None, rules=Rules())
    after = _stored(engine, tenant_id)
    everything = [((r["a_type"], r["a_value"]), (r["b_type"], r["b_value"]), micros(r["first_seen_at"]), r["message_id"])
                  for r in _edge_rows(tenant_id, edges)]
    partition, _ = reference_resolve(tenant_id, everything, {}, Rules())
    groups = lambda mapping: sorted(sorted(n for n in mapping if mapping[n] == c) for c in set(mapping.values()))  # noqa: E731
    assert groups(after) == groups(partition), "the same customers as resolving everything at once"
