"""Console settings: members, API keys, write keys and the audit log (admins only)."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from console.access import console_context, offset_param, role_required
from kernel.errors import DomainError
from kernel.pagination import page_of
from tenancy import selectors, services
from tenancy.forms import KeyForm, MemberForm, TenantForm
from tenancy.invitations import mail_configured
from tenancy.keycache import REVOCATION_CHECK_SECONDS
from tenancy.roles import Role

ADMIN_ONLY = role_required("settings")

# The two kinds of key share one page; these say what differs.
KEY_KINDS = {
    "api-keys": {"title": "API keys", "noun": "API key", "list": selectors.api_key_list, "create": services.api_key_create,
                 "revoke": services.api_key_revoke, "has_role": True,
                 "help": "API keys call the REST API for this tenant with the role you give them."},
    "write-keys": {"title": "Write keys", "noun": "write key", "list": selectors.write_key_list, "create": services.write_key_create,
                   "revoke": services.write_key_revoke, "has_role": False,
                   "help": "Write keys only send events: give them to Segment or RudderStack SDKs as the write key."},
}


def _page(request: HttpRequest, rows, mapper):
    return page_of(rows, limit=50, offset=offset_param(request), mapper=mapper)


def _kind(kind: str) -> dict:
    if kind not in KEY_KINDS:
        raise Http404(kind)
    return KEY_KINDS[kind]


@ADMIN_ONLY
def keys(request: HttpRequest, kind: str) -> HttpResponse:
    spec, created, created_secret = _kind(kind), None, None
    form = KeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ctx = console_context(request)
        extra = {"role": form.cleaned_data["role"] or Role.VIEWER} if spec["has_role"] else {}
        created, created_secret = spec["create"](tenant=ctx.tenant, name=form.cleaned_data["name"], actor=ctx.actor, **extra)
        form = KeyForm()
    context = {
        "kind": kind, "spec": spec, "form": form, "created": created, "created_secret": created_secret,
        "page": _page(request, spec["list"](tenant=request.tenant), selectors.key_info),
        "api_base": request.build_absolute_uri("/api").rstrip("/"), "write_key": created_secret or "<your write key>",
    }
    template = "tenancy/keys.html#key_panel" if request.htmx and request.method == "POST" else "tenancy/keys.html"
    return render(request, template, context, status=422 if form.errors else 200)


@require_POST
@ADMIN_ONLY
def key_revoke(request: HttpRequest, kind: str, key_pk: int) -> HttpResponse:
    spec, ctx = _kind(kind), console_context(request)
    info = spec["revoke"](tenant=ctx.tenant, key_pk=key_pk, actor=ctx.actor)
    messages.success(request, f"Revoked {info.prefix}… ({info.name}). Requests using it are refused (401) "
                     f"within {REVOCATION_CHECK_SECONDS} second, on every server process.")
    return redirect("tenancy:keys", kind=kind)


@ADMIN_ONLY
def members(request: HttpRequest) -> HttpResponse:
    """Add or change members. Someone who cannot sign in yet gets a one-time set-password link,
    shown here once (and mailed when the site has mail): no redirect, so it is never in a URL."""
    form, link, status = MemberForm(request.POST or None), None, 200
    if request.method == "POST":
        if form.is_valid():
            ctx = console_context(request)
            try:
                info, link = services.member_invite(tenant=ctx.tenant, email=form.cleaned_data["email"], role=form.cleaned_data["role"],
                                                    actor=ctx.actor, base_url=request.build_absolute_uri("/"))
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, f"{info.email} is now {info.role} in {ctx.tenant.slug}."
                                          + ("" if link else " They sign in with the password they already have."))
                if not link:
                    return redirect("tenancy:members")
                form = MemberForm()
        status = 422 if form.errors else 200
    page = _page(request, selectors.member_list(tenant=request.tenant), selectors.member_info)
    return render(request, "tenancy/members.html", {"form": form, "page": page, **_link_context(link)}, status=status)


def _link_context(link) -> dict:
    return {"link": link, "mail": mail_configured(), "link_days": settings.PASSWORD_RESET_TIMEOUT // 86400}


@require_POST
@ADMIN_ONLY
def member_password_link(request: HttpRequest, member_id: int) -> HttpResponse:
    ctx = console_context(request)
    try:
        link = services.member_password_link(tenant=ctx.tenant, member_id=member_id, actor=ctx.actor,
                                             base_url=request.build_absolute_uri("/"))
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("tenancy:members")
    page = _page(request, selectors.member_list(tenant=request.tenant), selectors.member_info)
    return render(request, "tenancy/members.html", {"form": MemberForm(), "page": page, **_link_context(link)})


@require_POST
@ADMIN_ONLY
def member_remove(request: HttpRequest, member_id: int) -> HttpResponse:
    ctx = console_context(request)
    try:
        services.member_remove(tenant=ctx.tenant, member_id=member_id, actor=ctx.actor)
        messages.success(request, "Member removed.")
    except DomainError as exc:
        messages.error(request, exc.detail)
    return redirect("tenancy:members")


@ADMIN_ONLY
def general(request: HttpRequest) -> HttpResponse:
    form = TenantForm(request.POST or None, initial={"name": request.tenant.name, "time_zone": _own_zone(request)})
    if request.method == "POST" and form.is_valid():
        ctx = console_context(request)
        try:
            services.tenant_update(tenant=ctx.tenant, actor=ctx.actor, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, "Saved.")
            return redirect("tenancy:general")
    return render(request, "tenancy/general.html", {"form": form}, status=422 if form.errors else 200)


def _own_zone(request: HttpRequest) -> str:
    """The tenant's own zone, empty when it follows the site's."""
    return selectors.tenant_own_time_zone(tenant=request.tenant)


@ADMIN_ONLY
def audit(request: HttpRequest) -> HttpResponse:
    page = _page(request, selectors.audit_list(tenant=request.tenant), selectors.audit_info)
    return render(request, "tenancy/audit.html", {"page": page})
