"""Customers: list and search, profiles, timelines, lookups, edits, consent, suppression, erasure, export."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from customers import selectors, services
from customers.schemas import (
    ConsentIn,
    CustomerEventOut,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    CustomerSummaryOut,
    EraseOut,
    ProfileChangeOut,
)
from kernel.errors import InvalidInput
from kernel.openapi import problems
from kernel.pagination import PageOut, PageParams
from kernel.responses import typed_json_response
from tenancy.auth import TenantAuth

router = Router(tags=["customers"], auth=TenantAuth("customers"))


class CustomerFilters(Schema):
    q: str = Field("", max_length=200, description="Any identifier or trait value contains it (case-insensitive).")
    trait: str = Field("", description="An exact trait, `key:value`.")
    sort: Literal["first_seen", "last_seen", "name"] = Field(
        "first_seen", description="first_seen: newest first; last_seen: most recently active first; name: A to Z, the nameless last.")


class EventFilters(Schema):
    type: str = ""
    event: str = ""
    since: datetime | None = None
    before: datetime | None = None


@router.get("", response=PageOut[CustomerSummaryOut], summary="List, search and sort customers",
            description="`q` matches any identifier or trait value (contains, case-insensitive); `trait=key:value` an exact trait; "
                        "both may be given. `total` counts every customer that matches.")
def customer_list(request: HttpRequest, page: Query[PageParams], filters: Query[CustomerFilters]):
    trait = None
    if filters.trait:
        key, sep, value = filters.trait.partition(":")
        if not sep or not key:
            raise InvalidInput("trait must look like key:value.", errors=[{"field": "trait", "message": "expected key:value"}])
        trait = (key, value)
    return selectors.customer_page(tenant=request.auth.tenant, q=filters.q, trait=trait, sort=filters.sort, limit=page.limit,
                                   offset=page.offset)


@router.get("/lookup", response=CustomerOut, summary="Find a customer by an identifier of any type (email, user_id, anonymous_id, phone, device_id, custom)",
            description="The value is normalised as resolution does (emails lower-cased, phones in E.164), so this agrees with "
                        "`GET /api/identity/resolve`.", openapi_extra=problems(404))
def customer_lookup(request: HttpRequest, type: str, value: str):
    return selectors.customer_lookup(tenant=request.auth.tenant, id_type=type, value=value)


@router.post("", response={201: CustomerOut}, summary="Create a customer or identify one with traits", openapi_extra=problems(409))
def customer_create(request: HttpRequest, payload: CustomerIn):
    profile = services.customer_identify(tenant=request.auth.tenant, user_id=payload.user_id, anonymous_id=payload.anonymous_id,
                                         email=payload.email, phone=payload.phone, identifiers=payload.identifiers, traits=payload.traits,
                                         actor=request.auth.actor)
    return Status(201, profile)


@router.get("/{cdp_id}", response=CustomerOut)
def customer_get(request: HttpRequest, cdp_id: str):
    # The most frequent read: serialised directly from the profile (same fields as CustomerOut).
    return typed_json_response(selectors.customer_get(tenant=request.auth.tenant, cdp_id=cdp_id))


@router.patch("/{cdp_id}", response=CustomerOut, summary="Set and unset traits (an operator's edit, source api)",
              description="Recorded with its actor in the profile change log (`GET /{cdp_id}/changes`) and the audit log; it is "
                          "not customer activity, so events, event counts and last-seen times do not change. Values keep their "
                          "JSON type.", openapi_extra=problems(409))
def customer_patch(request: HttpRequest, cdp_id: str, payload: CustomerPatch):
    return services.customer_update_traits(tenant=request.auth.tenant, cdp_id=cdp_id, set_traits=payload.set, unset=payload.unset,
                                           actor=request.auth.actor)


@router.get("/{cdp_id}/changes", response=PageOut[ProfileChangeOut], summary="The profile change log: every trait write, newest first",
            description="Who changed which trait, when and from where (identify, group, import, api, console); `actor` is set for "
                        "operators' edits.")
def customer_changes(request: HttpRequest, cdp_id: str, page: Query[PageParams]):
    cdp_id = selectors.customer_get(tenant=request.auth.tenant, cdp_id=cdp_id).cdp_id
    return selectors.profile_changes(tenant=request.auth.tenant, cdp_id=cdp_id, limit=page.limit, offset=page.offset)


@router.get("/{cdp_id}/events", response=PageOut[CustomerEventOut], summary="The customer's timeline, newest first")
def customer_events(request: HttpRequest, cdp_id: str, page: Query[PageParams], filters: Query[EventFilters]):
    selectors.customer_get(tenant=request.auth.tenant, cdp_id=cdp_id)
    return selectors.customer_events(tenant=request.auth.tenant, cdp_id=cdp_id, type=filters.type, event=filters.event,
                                     since=filters.since, before=filters.before, limit=page.limit, offset=page.offset)


@router.get("/{cdp_id}/export", summary="Everything held about the customer (subject access request)")
def customer_export(request: HttpRequest, cdp_id: str):
    return selectors.customer_export(tenant=request.auth.tenant, cdp_id=cdp_id)


@router.put("/{cdp_id}/consent", response=CustomerOut, summary="Record consent for a channel and purpose")
def customer_consent(request: HttpRequest, cdp_id: str, payload: ConsentIn):
    return services.customer_consent_set(tenant=request.auth.tenant, cdp_id=cdp_id, channel=payload.channel, purpose=payload.purpose,
                                         granted=payload.granted, actor=request.auth.actor)


@router.post("/{cdp_id}/suppress", response=CustomerOut, summary="Drop future events for this customer's identifiers")
def customer_suppress(request: HttpRequest, cdp_id: str):
    return services.customer_suppress(tenant=request.auth.tenant, cdp_id=cdp_id, actor=request.auth.actor)


@router.post("/{cdp_id}/unsuppress", response=CustomerOut)
def customer_unsuppress(request: HttpRequest, cdp_id: str):
    return services.customer_unsuppress(tenant=request.auth.tenant, cdp_id=cdp_id, actor=request.auth.actor)


@router.post("/{cdp_id}/erase", response=EraseOut, summary="Delete everything about the customer; keep its identifiers suppressed")
def customer_erase(request: HttpRequest, cdp_id: str):
    return services.customer_erase(tenant=request.auth.tenant, cdp_id=cdp_id, actor=request.auth.actor)
