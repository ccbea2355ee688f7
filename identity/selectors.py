"""Reading identity data: resolve an identifier, a customer's graph, merges, conflicts, runs, rules."""
from __future__ import annotations

from cdp_site.errors import NotFound
from cdp_site.pagination import Page, page_of
from customers import sql as customer_sql
from identity import sql
from identity.models import IdentityBlock, IdentityRun
from identity.rules import Rules, normalize
from identity.services import rules_for
from lakehouse import get_engine
from tenancy.types import TenantRef


def alias_target(*, tenant: TenantRef, cdp_id: str) -> str | None:
    """The live customer a retired (merged) id now resolves to, or None."""
    row = get_engine().execute(sql.ALIAS_TARGET, {"tenant_id": tenant.slug, "cdp_id": cdp_id}).first()
    return row["cdp_id"] if row and row["cdp_id"] != cdp_id else None


def identity_resolve(*, tenant: TenantRef, id_type: str, value: str) -> dict:
    rules = rules_for(tenant.id)
    normalized = normalize(id_type, value, rules)
    if normalized is None:
        raise NotFound(f"{id_type} {value!r} is blocked or not a valid identifier, so it resolves to nobody.")
    engine = get_engine()
    row = engine.execute(customer_sql.IDENTITY_LOOKUP, {"tenant_id": tenant.slug, "id_type": id_type, "id_value": normalized}).first()
    if row is None:
        raise NotFound(f"No customer has {id_type} {normalized!r} in this tenant.")
    identities = engine.execute(sql.IDENTITIES_BY_CUSTOMERS, {"tenant_id": tenant.slug, "cdp_ids": [row["cdp_id"]]}).dicts()
    return {"cdp_id": row["cdp_id"], "identities": [{"type": i["id_type"], "value": i["id_value"], "first_seen_at": i["first_seen_at"]}
                                                    for i in identities]}


def customer_graph(*, tenant: TenantRef, cdp_id: str) -> dict:
    """Nodes (its identifiers), edges among them and to other customers, its merges and conflicts."""
    engine = get_engine()
    live = alias_target(tenant=tenant, cdp_id=cdp_id) or cdp_id
    identities = engine.execute(sql.IDENTITIES_BY_CUSTOMERS, {"tenant_id": tenant.slug, "cdp_ids": [live]}).dicts()
    if not identities:
        raise NotFound(f"No customer {cdp_id} in this tenant.")
    mine = {(i["id_type"], i["id_value"]) for i in identities}
    edges = {}
    values = sorted({v for _, v in mine})
    for start in range(0, len(values), 200):
        for e in engine.execute(sql.EDGES_FOR_VALUES, {"tenant_id": tenant.slug, "values": values[start:start + 200]}):
            a, b = (e["a_type"], e["a_value"]), (e["b_type"], e["b_value"])
            if a in mine or b in mine:
                edges[(a, b)] = e
    blocked = _blocked_set(tenant)
    conflicts = engine.execute(sql.CONFLICTS_PAGE, {"tenant_id": tenant.slug, "cdp_id": live, "limit": 200, "offset": 0}).dicts()
    conflicted = {((c["a_type"], c["a_value"]), (c["b_type"], c["b_value"])) for c in conflicts}
    return {
        "cdp_id": live,
        "requested_cdp_id": cdp_id,
        "nodes": [{"type": i["id_type"], "value": i["id_value"], "first_seen_at": i["first_seen_at"], "last_seen_at": i["last_seen_at"],
                   "blocked": (i["id_type"], i["id_value"]) in blocked} for i in identities],
        "edges": [{"a_type": a[0], "a_value": a[1], "b_type": b[0], "b_value": b[1], "first_seen_at": e["first_seen_at"],
                   "message_id": e["message_id"], "state": "conflict" if (a, b) in conflicted else "blocked" if {a, b} & blocked
                   else "merged" if a in mine and b in mine else "external"} for (a, b), e in sorted(edges.items())],
        "merges": engine.execute(sql.MERGES_OF_CUSTOMER, {"tenant_id": tenant.slug, "cdp_id": live}).dicts(),
        "conflicts": conflicts,
    }


def _blocked_set(tenant: TenantRef) -> set:
    return {(b.id_type, b.id_value) for b in IdentityBlock.objects.filter(tenant_id=tenant.id, other_type="")}


def conflict_page(*, tenant: TenantRef, limit: int, offset: int) -> Page[dict]:
    rows = get_engine().execute(sql.CONFLICTS_PAGE, {"tenant_id": tenant.slug, "cdp_id": "", "limit": limit + 1, "offset": offset}).dicts()
    return Page(items=rows[:limit], limit=limit, offset=offset, has_more=len(rows) > limit)


def shared_identifiers(*, tenant: TenantRef, limit: int = 10) -> list[dict]:
    """Identifiers in the most conflicts: usually one thing many people share (a kiosk device, a
    family email), which ties their customers into one component every load re-resolves. Blocking
    it (un-merge) ends both."""
    rows = get_engine().execute(sql.SHARED_IDENTIFIERS, {"tenant_id": tenant.slug, "at_least": 2, "limit": limit})
    return [{"type": r["id_type"], "value": r["id_value"], "conflicts": r["conflicts"], "cdp_id": r["cdp_id"]} for r in rows]


def merge_page(*, tenant: TenantRef, limit: int, offset: int) -> Page[dict]:
    rows = get_engine().execute(sql.RECENT_MERGES, {"tenant_id": tenant.slug, "limit": limit + 1, "offset": offset}).dicts()
    return Page(items=rows[:limit], limit=limit, offset=offset, has_more=len(rows) > limit)


def run_info(run: IdentityRun) -> dict:
    return {f: getattr(run, f) for f in ("id", "kind", "state", "trigger", "started_at", "finished_at", "identifiers", "edges",
                                         "customers", "changed", "merges", "conflicts", "error")}


def run_get(*, tenant: TenantRef, run_id: int) -> dict:
    run = IdentityRun.objects.filter(tenant_id=tenant.id, id=run_id).first()
    if run is None:
        raise NotFound(f"No identity run {run_id} in this tenant.")
    return run_info(run)


def run_page(*, tenant: TenantRef, limit: int, offset: int) -> Page[dict]:
    return page_of(IdentityRun.objects.filter(tenant_id=tenant.id).order_by("-id"), limit=limit, offset=offset, mapper=run_info)


def rules_get(*, tenant: TenantRef) -> dict:
    return {**rules_for(tenant.id).as_dict(), "defaults": Rules().as_dict()}
