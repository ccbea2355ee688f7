"""Computed-trait definitions under /api/customers/computed-traits."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from customers.schemas import ComputedTraitIn, ComputedTraitOut, ComputedTraitPatch
from customers.services import computed_traits
from kernel.openapi import problems
from kernel.pagination import PageOut, PageParams
from tenancy.auth import TenantAuth

router = Router(tags=["computed traits"], auth=TenantAuth("customers"))


@router.get("", response=PageOut[ComputedTraitOut], summary="List computed-trait definitions")
def computed_trait_list(request: HttpRequest, page: Query[PageParams]):
    return computed_traits.computed_trait_list(tenant=request.auth.tenant, limit=page.limit, offset=page.offset)


@router.post("", response={201: ComputedTraitOut}, summary="Define a computed trait; computing it for every customer is queued",
             description="The definition is saved (201) with `state` queued; a worker computes it for everyone. Poll "
                         "GET /{id} until `state` is ready (or failed, with `error`).", openapi_extra=problems(409))
def computed_trait_create(request: HttpRequest, payload: ComputedTraitIn):
    info = computed_traits.computed_trait_create(tenant=request.auth.tenant, actor=request.auth.actor, values=payload.model_dump())
    return Status(201, info)


@router.get("/{trait_id}", response=ComputedTraitOut)
def computed_trait_get(request: HttpRequest, trait_id: int):
    return computed_traits.computed_trait_get(tenant=request.auth.tenant, trait_id=trait_id)


@router.patch("/{trait_id}", response=ComputedTraitOut, summary="Change a definition; recomputing it for everyone is queued", openapi_extra=problems(409))
def computed_trait_update(request: HttpRequest, trait_id: int, payload: ComputedTraitPatch):
    return computed_traits.computed_trait_update(tenant=request.auth.tenant, trait_id=trait_id, actor=request.auth.actor,
                                                 changes=payload.model_dump(exclude_unset=True))


@router.delete("/{trait_id}", response={204: None}, summary="Delete a definition and its values on every profile")
def computed_trait_delete(request: HttpRequest, trait_id: int):
    computed_traits.computed_trait_delete(tenant=request.auth.tenant, trait_id=trait_id, actor=request.auth.actor)
    return Status(204, None)


@router.post("/{trait_id}/refresh", response={202: ComputedTraitOut}, summary="Queue a recomputation for every customer",
             description="Answers 202 with `state` queued (also `Location`); poll GET /{id} until it is ready.")
def computed_trait_refresh(request: HttpRequest, response: HttpResponse, trait_id: int):
    info = computed_traits.computed_trait_refresh(tenant=request.auth.tenant, trait_id=trait_id, actor=request.auth.actor)
    response["Location"] = f"/api/customers/computed-traits/{trait_id}"
    return Status(202, info)
