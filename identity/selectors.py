"""Reading identity data: resolve an identifier, a customer's graph, merges, conflicts, runs, rules."""
from __future__ import annotations

from datetime import datetime

from identity import sql
from identity.identifiers import Node, alias_previous_ids, call_identifiers  # noqa: F401 (the rule, for the apps above)
from identity.models import IdentityBlock, IdentityRun, IdentitySettings
from identity.rules import Rules, normalize
from kernel.errors import NotFound
from kernel.pagination import Page, page_of
from lakehouse import get_engine
from tenancy.types import TenantRef


def rules_for(tenant_id: int) -> Rules:
    """The tenant's identity rules (the defaults until an admin saves some)."""
    settings = IdentitySettings.objects.filter(tenant_id=tenant_id).first()
    return Rules.from_dict(settings.rules) if settings else Rules()


def blocks_for(tenant_id: int) -> tuple[set[Node], set[frozenset]]:
    """The tenant's blocked identifiers, and blocked edges (pairs)."""
    nodes, edges = set(), set()
    for block in IdentityBlock.objects.filter(tenant_id=tenant_id):
        if block.other_type:
            edges.add(frozenset({(block.id_type, block.id_value), (block.other_type, block.other_value)}))
        else:
            nodes.add((block.id_type, block.id_value))
    return nodes, edges


def identifier_normalize(*, tenant: TenantRef, id_type: str, value, rules: Rules | None = None) -> str | None:
    """An identifier as stored (email lower-cased, phone in E.164, ...), or None when it
    identifies nobody (blocked, malformed): the same rule ingestion and resolution apply."""
    return normalize(id_type, value, rules or rules_for(tenant.id))


def identifier_owner(*, tenant: TenantRef, id_type: str, value: str) -> str:
    """The customer (cdp_id) an identifier resolves to, normalised by the tenant's rules.
    Raises NotFound when it is blocked, malformed or unknown."""
    normalized = identifier_normalize(tenant=tenant, id_type=id_type, value=value)
    if normalized is None:
        raise NotFound(f"{id_type} {value!r} is blocked or not a valid identifier, so it resolves to nobody.")
    row = get_engine().execute(sql.IDENTITY_LOOKUP, {"tenant_id": tenant.slug, "id_type": id_type, "id_value": normalized}).first()
    if row is None:
        raise NotFound(f"No customer has {id_type} {normalized!r} in this tenant.")
    return row["cdp_id"]


def customer_named(*, tenant: TenantRef, who: str) -> str:
    """The customer a person typed into a search box names: a cdp id as it is, an email address,
    else a user id, email, anonymous id or phone, in that order; '' when none matches (the
    console's "find a customer" boxes: a segment's member check, the messages filter, test sends)."""
    who = (who or "").replace("\x00", "").strip()
    if not who:
        return ""
    if who.startswith("cdp_"):
        return who
    for id_type in (("email",) if "@" in who else ("user_id", "email", "anonymous_id", "phone")):
        try:
            return identifier_owner(tenant=tenant, id_type=id_type, value=who)
        except NotFound:
            continue
    return ""


def known_user_ids(engine, *, tenant: TenantRef, values: list[str]) -> set[str]:
    """Which of these values the tenant already knows as user ids (alias previousIds)."""
    known = set()
    for chunk in engine.chunks(values):
        known.update(r["id_value"] for r in engine.execute(sql.IDENTITIES_BY_VALUES, {"tenant_id": tenant.slug, "values": chunk})
                     if r["id_type"] == "user_id")
    return known


def identifier_owners(*, tenant: TenantRef, identifiers: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The customers many identifiers resolve to, in a few reads: {(id_type, value as given): cdp_id}.
    Blocked, malformed and unknown identifiers are left out."""
    rules, engine = rules_for(tenant.id), get_engine()
    normalized = {}
    for id_type, value in identifiers:
        stored = normalize(id_type, value, rules)
        if stored is not None:
            normalized.setdefault((id_type, stored), []).append((id_type, value))
    found = {}
    for chunk in engine.chunks(sorted({v for _, v in normalized})):
        for r in engine.execute(sql.IDENTITIES_BY_VALUES, {"tenant_id": tenant.slug, "values": chunk}):
            for given in normalized.get((r["id_type"], r["id_value"]), ()):
                found[given] = r["cdp_id"]
    return found


def live_customers(*, tenant: TenantRef, cdp_ids) -> set[str]:
    """Which of these ids are customers now (not merged away, not erased)."""
    engine = get_engine()
    return {r["cdp_id"] for r in identities_of_customers(engine, tenant=tenant, cdp_ids=sorted(set(cdp_ids)))}


def identities_of_customers(engine, *, tenant: TenantRef, cdp_ids) -> list[dict]:
    """The identifiers of some customers (type, value, cdp_id, first and last seen)."""
    rows = []
    for chunk in engine.chunks(cdp_ids):
        rows.extend(engine.execute(sql.IDENTITIES_BY_CUSTOMERS, {"tenant_id": tenant.slug, "cdp_ids": chunk}).dicts())
    return rows


def identifiers_of_type(*, tenant: TenantRef, id_type: str, cdp_ids) -> dict[str, list[str]]:
    """`{cdp_id: [values, in order]}` of one identifier type for many customers (a campaign's
    addresses): only that type's rows, a chunk of customers a statement."""
    engine, out = get_engine(), {}
    for chunk in engine.chunks(sorted(set(cdp_ids))):
        for cdp_id, value in engine.execute(sql.IDENTIFIERS_OF_TYPE_BY_CUSTOMERS, {"tenant_id": tenant.slug, "id_type": id_type,
                                                                                  "cdp_ids": chunk}).rows:
            out.setdefault(cdp_id, []).append(value)
    return out


def merged_ids(engine, *, tenant: TenantRef, cdp_id: str) -> set[str]:
    """The retired ids merged into a customer (from the merge log)."""
    rows = engine.execute(sql.MERGES_OF_CUSTOMER, {"tenant_id": tenant.slug, "cdp_id": cdp_id})
    return {r["merged_cdp_id"] for r in rows if r["cdp_id"] == cdp_id}


def alias_target(*, tenant: TenantRef, cdp_id: str) -> str | None:
    """The live customer a retired (merged) id now resolves to, or None."""
    row = get_engine().execute(sql.ALIAS_TARGET, {"tenant_id": tenant.slug, "cdp_id": cdp_id}).first()
    return row["cdp_id"] if row and row["cdp_id"] != cdp_id else None


def identity_resolve(*, tenant: TenantRef, id_type: str, value: str) -> dict:
    cdp_id = identifier_owner(tenant=tenant, id_type=id_type, value=value)
    identities = identities_of_customers(get_engine(), tenant=tenant, cdp_ids=[cdp_id])
    return {"cdp_id": cdp_id, "identities": [{"type": i["id_type"], "value": i["id_value"], "first_seen_at": i["first_seen_at"]}
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
    for chunk in engine.chunks({v for _, v in mine}):
        for e in engine.execute(sql.EDGES_FOR_VALUES, {"tenant_id": tenant.slug, "values": chunk}):
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


def log_counts(*, tenant: TenantRef) -> dict[str, int]:
    """How many conflicts and merges the tenant has (two grouped counts in one statement)."""
    counts = {"conflicts": 0, "merges": 0}
    counts.update({row["kind"]: row["n"] for row in get_engine().execute(sql.LOG_COUNTS, {"tenant_id": tenant.slug})})
    return counts


def conflict_page(*, tenant: TenantRef, limit: int, offset: int, total: int | None = None) -> Page[dict]:
    rows = get_engine().execute(sql.CONFLICTS_PAGE, {"tenant_id": tenant.slug, "cdp_id": "", "limit": limit + 1, "offset": offset}).dicts()
    if total is None:
        total = log_counts(tenant=tenant)["conflicts"]
    return Page(items=rows[:limit], limit=limit, offset=offset, has_more=len(rows) > limit, total=total)


def shared_identifier_page(*, tenant: TenantRef, limit: int = 10, offset: int = 0) -> Page[dict]:
    """Identifiers in the most conflicts: usually one thing many people share (a kiosk device, a
    family email), which ties their customers into one component every load re-resolves. Blocking
    it (un-merge) ends both."""
    rows = get_engine().execute(sql.SHARED_IDENTIFIERS, {"tenant_id": tenant.slug, "at_least": 2, "limit": limit + 1, "offset": offset})
    items = [{"type": r["id_type"], "value": r["id_value"], "conflicts": r["conflicts"], "cdp_id": r["cdp_id"]} for r in rows]
    return Page(items=items[:limit], limit=limit, offset=offset, has_more=len(items) > limit)


def shared_identifiers(*, tenant: TenantRef, limit: int = 10) -> list[dict]:
    """The first `limit` of `shared_identifier_page`, for the Identity page."""
    return shared_identifier_page(tenant=tenant, limit=limit).items


def merge_page(*, tenant: TenantRef, limit: int, offset: int, total: int | None = None) -> Page[dict]:
    rows = get_engine().execute(sql.RECENT_MERGES, {"tenant_id": tenant.slug, "limit": limit + 1, "offset": offset}).dicts()
    if total is None:
        total = log_counts(tenant=tenant)["merges"]
    return Page(items=rows[:limit], limit=limit, offset=offset, has_more=len(rows) > limit, total=total)


def block_page(*, tenant: TenantRef, limit: int, offset: int) -> Page[dict]:
    """Blocked identifiers and edges (from un-merge), newest first."""
    blocks = IdentityBlock.objects.filter(tenant_id=tenant.id).order_by("-created_at", "-id")
    fields = ("id", "id_type", "id_value", "other_type", "other_value", "reason", "created_by", "created_at")
    page = page_of(blocks.values(*fields), limit=limit, offset=offset)
    return Page(items=page.items, limit=limit, offset=offset, has_more=page.has_more, total=blocks.count())


def run_info(run: IdentityRun) -> dict:
    info = {f: getattr(run, f) for f in ("id", "kind", "state", "trigger", "started_at", "finished_at", "identifiers", "edges",
                                         "customers", "changed", "merges", "conflicts", "error")}
    return {**info, "preview": run.result if run.kind == "preview" else None}


def run_get(*, tenant: TenantRef, run_id: int) -> dict:
    run = IdentityRun.objects.filter(tenant_id=tenant.id, id=run_id).first()
    if run is None:
        raise NotFound(f"No identity run {run_id} in this tenant.")
    return run_info(run)


def run_page(*, tenant: TenantRef, limit: int, offset: int) -> Page[dict]:
    """Runs that changed (or could change) identities, newest first; previews are not among them."""
    runs = IdentityRun.objects.filter(tenant_id=tenant.id).exclude(kind="preview").order_by("-id")
    return page_of(runs, limit=limit, offset=offset, mapper=run_info)


def rules_get(*, tenant: TenantRef) -> dict:
    return {**rules_for(tenant.id).as_dict(), "defaults": Rules().as_dict()}


def identity_rewritten_since(*, tenant: TenantRef, since: datetime) -> bool:
    """Whether customers were rebuilt, unmerged, blocked or unblocked since a time: changes that
    move identifiers between customers without a merge in the merge log (readers that follow the
    log from a watermark re-read everything then)."""
    from django.db.models import Q

    runs = IdentityRun.objects.filter(tenant_id=tenant.id, kind__in=("full", "unmerge", "unblock")).filter(
        Q(started_at__gte=since) | Q(finished_at__gte=since))
    return runs.exists() or IdentityBlock.objects.filter(tenant_id=tenant.id, created_at__gte=since).exists()


def merges_since(*, tenant: TenantRef, after: tuple[datetime, str], limit: int = 10_000) -> list[dict]:
    """The merge log after a reader's watermark `(merged_at, merge_id)`, oldest first: which
    customers were merged into which (see `customers.selectors.profile_changes_since` for how a
    reader keeps its watermark)."""
    return get_engine().execute(sql.MERGES_SINCE, {"tenant_id": tenant.slug, "after_at": after[0], "after_id": after[1],
                                                   "limit": limit}).dicts()


def customer_totals(*, tenant: TenantRef) -> tuple[int, int]:
    """(customers, identified): how many customers, and how many have an identifier other than an
    anonymous id (a user id, an email, a phone...)."""
    row = get_engine().execute(sql.CUSTOMER_TOTALS, {"tenant_id": tenant.slug}).first()
    return (row["customers"], row["identified"]) if row else (0, 0)


def resolution_since(*, tenant: TenantRef, since: datetime) -> dict[str, int]:
    """How many merges were made and conflicts detected since a time."""
    counts = {"merges": 0, "conflicts": 0}
    counts.update({row["kind"]: row["n"] for row in get_engine().execute(sql.RESOLUTION_SINCE, {"tenant_id": tenant.slug, "since": since})})
    return counts
