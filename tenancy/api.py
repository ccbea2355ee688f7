"""Who am I, my tenants, and (admins) members, API keys, write keys and the audit log."""
from __future__ import annotations

from dataclasses import asdict

from django.http import HttpRequest
from ninja import Query, Router, Status

from kernel.openapi import problems
from kernel.pagination import PageOut, PageParams, page_of
from tenancy import selectors, services
from tenancy.auth import PrincipalAuth, TenantAuth
from tenancy.schemas import (
    ApiKeyIn,
    AuditOut,
    KeyCreatedOut,
    KeyOut,
    MemberAddedOut,
    MemberIn,
    MemberOut,
    MemberPatch,
    MeOut,
    PasswordLinkOut,
    TenantOut,
    WriteKeyIn,
)

router = Router(tags=["tenancy"], auth=TenantAuth("account"))
admin = Router(tags=["tenancy"], auth=TenantAuth("settings"))


@router.get("/me", response=MeOut, summary="The caller, the tenant it acts in, and all its tenants")
def me(request: HttpRequest):
    ctx = request.auth
    tenants = [TenantOut(slug=t.slug, name=t.name, role=role) for t, role in selectors.tenants_for(ctx.principal)]
    current = TenantOut(slug=ctx.tenant.slug, name=ctx.tenant.name, role=ctx.role)
    return MeOut(principal=ctx.principal.label, kind=ctx.principal.kind, tenant=current, tenants=tenants)


@router.get("/tenants", response=PageOut[TenantOut], auth=PrincipalAuth(), summary="The tenants these credentials reach (no X-Tenant-ID needed)")
def tenant_list(request: HttpRequest, page: Query[PageParams]):
    tenants = [TenantOut(slug=t.slug, name=t.name, role=role) for t, role in selectors.tenants_for(request.auth)]
    return page_of(tenants, limit=page.limit, offset=page.offset)


@admin.get("/api-keys", response=PageOut[KeyOut])
def api_key_list(request: HttpRequest, page: Query[PageParams]):
    return page_of(selectors.api_key_list(tenant=request.auth.tenant), limit=page.limit, offset=page.offset, mapper=selectors.key_info)


@admin.post("/api-keys", response={201: KeyCreatedOut}, summary="Create an API key (its secret is shown once)")
def api_key_create(request: HttpRequest, payload: ApiKeyIn):
    info, secret = services.api_key_create(tenant=request.auth.tenant, name=payload.name, role=payload.role, actor=request.auth.actor)
    return Status(201, {**asdict(info), "secret": secret})


@admin.delete("/api-keys/{key_pk}", response=KeyOut, summary="Revoke an API key")
def api_key_revoke(request: HttpRequest, key_pk: int):
    return services.api_key_revoke(tenant=request.auth.tenant, key_pk=key_pk, actor=request.auth.actor)


@admin.get("/write-keys", response=PageOut[KeyOut])
def write_key_list(request: HttpRequest, page: Query[PageParams]):
    return page_of(selectors.write_key_list(tenant=request.auth.tenant), limit=page.limit, offset=page.offset, mapper=selectors.key_info)


@admin.post("/write-keys", response={201: KeyCreatedOut}, summary="Create a write key for ingestion (shown once)")
def write_key_create(request: HttpRequest, payload: WriteKeyIn):
    info, secret = services.write_key_create(tenant=request.auth.tenant, name=payload.name, actor=request.auth.actor,
                                             allowed_origins=payload.allowed_origins)
    return Status(201, {**asdict(info), "secret": secret})


@admin.delete("/write-keys/{key_pk}", response=KeyOut, summary="Revoke a write key")
def write_key_revoke(request: HttpRequest, key_pk: int):
    return services.write_key_revoke(tenant=request.auth.tenant, key_pk=key_pk, actor=request.auth.actor)


@admin.get("/members", response=PageOut[MemberOut])
def member_list(request: HttpRequest, page: Query[PageParams]):
    return page_of(selectors.member_list(tenant=request.auth.tenant), limit=page.limit, offset=page.offset, mapper=selectors.member_info)


@admin.post("/members", response={201: MemberAddedOut}, summary="Add a person to this tenant, or change their role",
            description="Someone who cannot sign in yet gets a one-time set-password link: in the answer (shown once) and by "
                        "mail when the site has mail configured.", openapi_extra=problems(409))
def member_add(request: HttpRequest, payload: MemberIn):
    info, link = services.member_invite(tenant=request.auth.tenant, email=payload.email, role=payload.role, actor=request.auth.actor,
                                        base_url=request.build_absolute_uri("/"))
    return Status(201, {**asdict(info), "set_password_url": link.url if link else None, "emailed": bool(link and link.emailed)})


@admin.post("/members/{member_id}/password-link", response=PasswordLinkOut, summary="A new one-time set-password link for a member",
            description="For a lost invitation or a forgotten password; mailed too when the site has mail configured.",
            openapi_extra=problems(404))
def member_password_link(request: HttpRequest, member_id: int):
    link = services.member_password_link(tenant=request.auth.tenant, member_id=member_id, actor=request.auth.actor,
                                         base_url=request.build_absolute_uri("/"))
    return {"email": link.email, "set_password_url": link.url, "emailed": link.emailed}


@admin.patch("/members/{member_id}", response=MemberOut, openapi_extra=problems(409))
def member_update(request: HttpRequest, member_id: int, payload: MemberPatch):
    member = selectors.member_get(tenant=request.auth.tenant, member_id=member_id)
    return services.member_set(tenant=request.auth.tenant, email=member.email, role=payload.role, actor=request.auth.actor)


@admin.delete("/members/{member_id}", response={204: None}, openapi_extra=problems(409))
def member_remove(request: HttpRequest, member_id: int):
    services.member_remove(tenant=request.auth.tenant, member_id=member_id, actor=request.auth.actor)
    return Status(204, None)


@admin.get("/audit", response=PageOut[AuditOut], summary="Who changed what, newest first")
def audit_list(request: HttpRequest, page: Query[PageParams]):
    return page_of(selectors.audit_list(tenant=request.auth.tenant), limit=page.limit, offset=page.offset, mapper=selectors.audit_info)


router.add_router("/", admin)
