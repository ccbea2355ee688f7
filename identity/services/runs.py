"""Identity runs (full rebuilds), un-merge and rules: the operations an operator starts.

Full rebuilds are queued (`run_queue`, carried out by `identity.tasks.identity_rebuild`). Each run
resolves and writes identity's tables, then hands the Outcome to `on_moved` in the same
transaction, so the customers' data follows its identifiers (`customers.services.profiles_follow`,
passed in by the entry point: identity imports nothing above it). It is a required argument, so
no caller can forget it.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone as dj_timezone

from identity import sql
from identity.models import IdentityBlock, IdentityRun, IdentitySettings
from identity.resolution import resolve
from identity.rules import Rules
from identity.selectors import blocks_for
from identity.services.apply import Outcome, resolve_and_apply
from identity.services.scope import scope_graph, whole_tenant
from kernel.errors import InvalidInput, NotFound
from lakehouse import get_engine
from operations.queue import task_enqueue
from tenancy.selectors import tenant_ref_by_id
from tenancy.services import audit_record
from tenancy.types import TenantRef

OnMoved = Callable[[object, TenantRef, Outcome], None]  # (engine, tenant, outcome)


def _resolved(engine, tenant: TenantRef, *, seeds, run_id: int, on_moved: OnMoved, **options) -> Outcome:
    with engine.transaction():
        outcome = resolve_and_apply(engine, tenant, seeds=seeds, run_id=run_id, **options)
        on_moved(engine, tenant, outcome)
    return outcome


def _failed(run_id: int, exc: Exception) -> None:
    IdentityRun.objects.filter(id=run_id).update(state="failed", error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=dj_timezone.now())


def rules_checked(data: dict) -> Rules:
    try:
        rules = Rules.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"The rules are not valid: {exc}.", errors=[{"field": "rules", "message": str(exc)}]) from None
    errors = rules.problems()
    if errors:
        raise InvalidInput(f"The rules are not valid: {', '.join(sorted({e['field'] for e in errors}))}.", errors=errors)
    return rules



def run_start(*, tenant: TenantRef, kind: str, trigger: str, state: str = "running") -> IdentityRun:
    return IdentityRun.objects.create(tenant_id=tenant.id, kind=kind, trigger=trigger, state=state)


def run_queue(*, tenant: TenantRef, trigger: str) -> int:
    """Queue a full rebuild (it can take minutes on a large tenant): the run is recorded as queued
    and `identity.tasks.identity_rebuild` carries it out on a worker. Returns the run's id."""
    run = run_start(tenant=tenant, kind="full", trigger=trigger, state="queued")
    task_enqueue("identity.tasks.identity_rebuild", run.id, name=f"identity-rebuild-{tenant.slug}-{run.id}", tenant_id=tenant.id)
    return run.id


def run_execute(run_id: int, *, on_moved: OnMoved, progress: Callable[[str], None] = lambda message: None) -> IdentityRun:
    """Carry out a started or queued run over the whole tenant (loads resolve what they touch by
    themselves). Failures are recorded on the run and raised."""
    run = IdentityRun.objects.get(id=run_id)
    IdentityRun.objects.filter(id=run_id).update(state="running")
    tenant = tenant_ref_by_id(run.tenant_id)
    try:
        progress("reading edges and identities")
        outcome = _resolved(get_engine(), tenant, seeds=None, run_id=run.id, on_moved=on_moved, progress=progress)
    except Exception as exc:
        _failed(run.id, exc)
        raise
    progress(f"{outcome.customers:,} customers, {outcome.changed:,} identifiers changed, {outcome.merges:,} merges, "
             f"{outcome.conflicts:,} conflicts")
    for name in ("identifiers", "edges", "customers", "changed", "merges", "conflicts"):
        setattr(run, name, getattr(outcome, name))
    run.state, run.finished_at = "succeeded", dj_timezone.now()
    run.save()
    return run


def customer_unmerge(*, tenant: TenantRef, cdp_id: str, id_type: str, id_value: str, other_type: str = "", other_value: str = "",
                     reason: str = "", actor: str, on_moved: OnMoved) -> Outcome:
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
    outcome = _resolved(engine, tenant, seeds=nodes, run_id=run.id, on_moved=on_moved)
    IdentityRun.objects.filter(id=run.id).update(state="succeeded", finished_at=dj_timezone.now(), identifiers=outcome.identifiers,
                                                 edges=outcome.edges, customers=outcome.customers, changed=outcome.changed,
                                                 merges=outcome.merges, conflicts=outcome.conflicts)
    audit_record(tenant=tenant, actor=actor, action="identity.unmerge", target=cdp_id,
                 details={"blocked": named, "customers_after": len({outcome.assignment[n] for n in nodes if n in outcome.assignment})})
    return outcome


def identity_unblock(*, tenant: TenantRef, block_id: int, reason: str, actor: str, on_moved: OnMoved) -> Outcome:
    """Lift a block (un-merge) and re-resolve what it kept apart: the identifier joins customers
    again as its edges say. The reason goes into the audit log with what was blocked and why."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why the block is lifted.", errors=[{"field": "reason", "message": "must not be empty"}])
    block = IdentityBlock.objects.filter(tenant_id=tenant.id, id=block_id).first()
    if block is None:
        raise NotFound(f"No block {block_id} in this tenant.")
    seeds = {(block.id_type, block.id_value)} | ({(block.other_type, block.other_value)} if block.other_type else set())
    details = {"blocked": sorted(f"{t}:{v}" for t, v in seeds), "blocked_reason": block.reason, "blocked_by": block.created_by,
               "reason": reason}
    block.delete()
    run = run_start(tenant=tenant, kind="unblock", trigger=actor)
    outcome = _resolved(get_engine(), tenant, seeds=seeds, run_id=run.id, on_moved=on_moved)
    IdentityRun.objects.filter(id=run.id).update(state="succeeded", finished_at=dj_timezone.now(), identifiers=outcome.identifiers,
                                                 edges=outcome.edges, customers=outcome.customers, changed=outcome.changed,
                                                 merges=outcome.merges, conflicts=outcome.conflicts)
    audit_record(tenant=tenant, actor=actor, action="identity.unblock", target=details["blocked"][0], details=details)
    return outcome


def rules_update(*, tenant: TenantRef, data: dict, actor: str) -> int:
    """Save new rules and queue a rebuild of the tenant's identities under them. Returns the run's id."""
    rules = rules_checked(data)
    with transaction.atomic():
        IdentitySettings.objects.update_or_create(tenant_id=tenant.id, defaults={"rules": rules.as_dict(), "updated_by": actor})
        audit_record(tenant=tenant, actor=actor, action="identity.rules", target=tenant.slug, details=rules.as_dict())
    return run_queue(tenant=tenant, trigger=f"rules changed by {actor}")


def preview_queue(*, tenant: TenantRef, data: dict, trigger: str) -> int:
    """Queue a preview of proposed rules (it resolves the whole tenant, minutes on a large one).
    Invalid rules are refused at once. Returns the run's id; its `result` is the preview."""
    rules = rules_checked(data)
    run = IdentityRun.objects.create(tenant_id=tenant.id, kind="preview", trigger=trigger, state="queued", rules=rules.as_dict())
    task_enqueue("identity.tasks.identity_preview", run.id, name=f"identity-preview-{tenant.slug}-{run.id}", tenant_id=tenant.id)
    return run.id


def preview_execute(run_id: int) -> dict:
    """Carry out a queued preview; the answer is kept on the run."""
    run = IdentityRun.objects.get(id=run_id, kind="preview")
    IdentityRun.objects.filter(id=run_id).update(state="running")
    try:
        result = rules_preview(tenant=tenant_ref_by_id(run.tenant_id), data=run.rules)
    except Exception as exc:
        _failed(run_id, exc)
        raise
    IdentityRun.objects.filter(id=run_id).update(state="succeeded", result=result, finished_at=dj_timezone.now(),
                                                 customers=result["customers_after"], conflicts=result["conflicts"])
    return result


def rules_preview(*, tenant: TenantRef, data: dict) -> dict:
    """What the proposed rules would do, before applying them: customers that would merge or split."""
    rules = rules_checked(data)
    engine = get_engine()
    scope = whole_tenant(engine, tenant.slug)
    blocked_nodes, blocked_edges = blocks_for(tenant.id)
    previous = scope.previous()
    result = resolve(tenant.slug, scope_graph(scope), rules, previous=previous, blocked_nodes=blocked_nodes, blocked_edges=blocked_edges)
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
