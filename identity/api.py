"""Identity resolution under /api/identity: resolve, graphs, rules and their preview, un-merge, conflicts, runs."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from customers.services import profiles_follow
from identity import selectors, services
from identity.schemas import (
    BlockOut,
    ConflictOut,
    GraphOut,
    MergeOut,
    ResolveOut,
    RulesIn,
    RulesOut,
    RulesSavedOut,
    RunIn,
    RunOut,
    SharedIdentifierOut,
    UnblockIn,
    UnblockOut,
    UnmergeIn,
    UnmergeOut,
)
from kernel.openapi import problems
from kernel.pagination import PageOut, PageParams
from tenancy.auth import TenantAuth

router = Router(tags=["identity"], auth=TenantAuth("identity"))


@router.get("/resolve", response=ResolveOut, summary="The customer an identifier belongs to (type=user_id|anonymous_id|email|phone|...)", openapi_extra=problems(404))
def identity_resolve(request: HttpRequest, type: str, value: str):
    return selectors.identity_resolve(tenant=request.auth.tenant, id_type=type, value=value)


@router.get("/customers/{cdp_id}/graph", response=GraphOut, summary="A customer's identifiers, edges, merges and conflicts",
            description="A merged (retired) id answers with the graph of the customer it was merged into.")
def identity_graph(request: HttpRequest, cdp_id: str):
    return selectors.customer_graph(tenant=request.auth.tenant, cdp_id=cdp_id)


@router.post("/customers/{cdp_id}/unmerge", response=UnmergeOut, summary="Block an identifier or edge and split the customer",
             description="The part holding the oldest identifier keeps the id; the others get new ids; events and traits follow.")
def identity_unmerge(request: HttpRequest, cdp_id: str, payload: UnmergeIn):
    outcome = services.customer_unmerge(tenant=request.auth.tenant, cdp_id=cdp_id, id_type=payload.type, id_value=payload.value,
                                        other_type=payload.other_type, other_value=payload.other_value, reason=payload.reason,
                                        actor=request.auth.actor, on_moved=profiles_follow)
    return {"cdp_id": cdp_id, "customers": sorted({c for c in outcome.assignment.values()})}


@router.get("/blocks", response=PageOut[BlockOut], summary="Blocked identifiers and edges (from un-merge), newest first")
def block_list(request: HttpRequest, page: Query[PageParams]):
    return selectors.block_page(tenant=request.auth.tenant, limit=page.limit, offset=page.offset)


@router.post("/blocks/{block_id}/unblock", response=UnblockOut, summary="Lift a block and re-resolve what it kept apart",
             description="The identifier joins customers again as its edges say; the reason goes into the audit log.",
             openapi_extra=problems(404))
def block_lift(request: HttpRequest, block_id: int, payload: UnblockIn):
    outcome = services.identity_unblock(tenant=request.auth.tenant, block_id=block_id, reason=payload.reason, actor=request.auth.actor,
                                        on_moved=profiles_follow)
    return {"merges": outcome.merges, "conflicts": outcome.conflicts, "customers": outcome.customers}


@router.get("/rules", response=RulesOut, summary="The tenant's resolution rules (and the defaults)")
def rules_get(request: HttpRequest):
    return selectors.rules_get(tenant=request.auth.tenant)


@router.put("/rules", response={202: RulesSavedOut}, auth=TenantAuth("identity-rules"),
            summary="Replace the rules and queue a rebuild of the tenant's identities under them",
            description="Answers 202 once the rules are saved, with the queued run (also in `Location`); poll it until it has "
                        "succeeded or failed.")
def rules_put(request: HttpRequest, response: HttpResponse, payload: RulesIn):
    run_id = services.rules_update(tenant=request.auth.tenant, data=payload.model_dump(), actor=request.auth.actor)
    response["Location"] = f"/api/identity/runs/{run_id}"
    return Status(202, {"rules": selectors.rules_get(tenant=request.auth.tenant), "run": selectors.run_get(tenant=request.auth.tenant,
                                                                                                         run_id=run_id)})


@router.post("/rules/preview", response={202: RunOut}, auth=TenantAuth("identity-rules"), summary="Queue a preview: how many customers would merge or split under proposed rules",
             description="Invalid rules answer 422 at once. Otherwise 202 with the queued run (also `Location`): it resolves "
                         "the whole tenant under the proposed rules without changing anything; poll GET /api/identity/runs/{id} "
                         "until `state` is succeeded, then `preview` holds the answer.")
def rules_preview(request: HttpRequest, response: HttpResponse, payload: RulesIn):
    run_id = services.preview_queue(tenant=request.auth.tenant, data=payload.model_dump(), trigger=request.auth.actor)
    response["Location"] = f"/api/identity/runs/{run_id}"
    return Status(202, selectors.run_get(tenant=request.auth.tenant, run_id=run_id))


@router.get("/shared-identifiers", response=PageOut[SharedIdentifierOut],
            summary="Identifiers in the most conflicts (at least two): usually something many people share",
            description="Such an identifier ties its customers into one component that every load touching any of them "
                        "re-resolves; block it with POST /customers/{cdp_id}/unmerge. Paged like every list.")
def shared_identifiers(request: HttpRequest, page: Query[PageParams]):
    return selectors.shared_identifier_page(tenant=request.auth.tenant, limit=page.limit, offset=page.offset)


@router.get("/conflicts", response=PageOut[ConflictOut], summary="Edges not merged because a rule forbade it")
def conflicts(request: HttpRequest, page: Query[PageParams]):
    return selectors.conflict_page(tenant=request.auth.tenant, limit=page.limit, offset=page.offset)


@router.get("/merges", response=PageOut[MergeOut], summary="The merge log, newest first")
def merges(request: HttpRequest, page: Query[PageParams]):
    return selectors.merge_page(tenant=request.auth.tenant, limit=page.limit, offset=page.offset)


@router.post("/runs", response={202: RunOut}, auth=TenantAuth("identity-rules"), summary="Queue a rebuild of the tenant's identities (a full run)",
             description="Answers 202 with the queued run (also in `Location`); poll GET /api/identity/runs/{id} until it has "
                         "succeeded or failed. A rebuild of a large tenant takes minutes, so it runs on a worker (qcluster).")
def run_create(request: HttpRequest, response: HttpResponse, payload: RunIn | None = None):  # a bodiless POST is a full run
    run_id = services.run_queue(tenant=request.auth.tenant, trigger=request.auth.actor)
    response["Location"] = f"/api/identity/runs/{run_id}"
    return Status(202, selectors.run_get(tenant=request.auth.tenant, run_id=run_id))


@router.get("/runs", response=PageOut[RunOut], summary="Resolution runs, newest first")
def run_list(request: HttpRequest, page: Query[PageParams]):
    return selectors.run_page(tenant=request.auth.tenant, limit=page.limit, offset=page.offset)


@router.get("/runs/{run_id}", response=RunOut)
def run_get(request: HttpRequest, run_id: int):
    return selectors.run_get(tenant=request.auth.tenant, run_id=run_id)
