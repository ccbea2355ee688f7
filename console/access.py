"""Console access: signed in, in a tenant, with at least the role a page needs."""
from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

from kernel.pagination import MAX_OFFSET
from tenancy.roles import area_role, role_allows
from tenancy.selectors import user_principal
from tenancy.types import Principal, TenantContext


def console_context(request) -> TenantContext:
    principal: Principal = user_principal(request.user)
    return TenantContext(principal=principal, tenant=request.tenant, role=request.role)


def role_required(area: str):
    """Pages of `area` read and post with the roles of the role table (`tenancy.roles`), as the
    API's operations of that area do; the refusal says what is missing."""
    area_role(area, write=False)  # an unknown area fails at import

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.tenant is None:
                return render(request, "console/no_tenant.html", status=403)
            need = area_role(area, write=request.method not in ("GET", "HEAD"))
            if not role_allows(request.role, need):
                return render(request, "console/forbidden.html", {"need": need}, status=403)
            return view(request, *args, **kwargs)

        wrapper.cdp_area = area
        return wrapper

    return decorate


def offset_param(request, name: str = "offset") -> int:
    """The `?offset=` (or another name, for a page with several lists) of a console list page;
    junk or negatives mean the first page."""
    try:
        return min(max(int(request.GET.get(name, 0)), 0), MAX_OFFSET)
    except ValueError:
        return 0


def first_error(form) -> str:
    """A console form's first problem, as a message names it: "field: what is wrong"."""
    for field, errors in form.errors.items():
        return f"{field}: {errors[0]}" if field != "__all__" else errors[0]
    return ""
