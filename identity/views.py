"""Console pages for identity: the merge log, conflicts, runs, and the rules editor with its preview;
un-merge from a customer's profile. Thin: one service or selector each."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from console.access import console_context, offset_param, role_required
from customers.services import profiles_follow
from identity import selectors, services
from identity.forms import RulesForm, UnmergeForm
from kernel.errors import DomainError

LOG_PAGE = 25


@role_required("identity")
def index(request: HttpRequest) -> HttpResponse:
    """The merge log, conflicts and blocks, each paged on its own (`merges`, `conflicts`, `blocks`
    offsets in the query string, so paging one keeps the others where they are)."""
    counts = selectors.log_counts(tenant=request.tenant)
    offsets = {name: offset_param(request, name) for name in ("merges", "conflicts", "blocks")}
    context = {
        "merges": selectors.merge_page(tenant=request.tenant, limit=LOG_PAGE, offset=offsets["merges"], total=counts["merges"]),
        "conflicts": selectors.conflict_page(tenant=request.tenant, limit=LOG_PAGE, offset=offsets["conflicts"], total=counts["conflicts"]),
        "blocks": selectors.block_page(tenant=request.tenant, limit=LOG_PAGE, offset=offsets["blocks"]),
        "shared": selectors.shared_identifiers(tenant=request.tenant),
        "offsets": offsets,
        **_runs_context(request),
    }
    return render(request, "identity/index.html", context)


@require_POST
@role_required("identity")
def unblock(request: HttpRequest, block_id: int) -> HttpResponse:
    ctx = console_context(request)
    try:
        outcome = services.identity_unblock(tenant=ctx.tenant, block_id=block_id, reason=request.POST.get("reason", ""), actor=ctx.actor,
                                            on_moved=profiles_follow)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Unblocked; {outcome.merges} merge{'s' if outcome.merges != 1 else ''} followed "
                                  f"and {outcome.conflicts} conflict{'s' if outcome.conflicts != 1 else ''} were found again.")
    return redirect("identity:index")


@role_required("identity-rules")
def rules(request: HttpRequest) -> HttpResponse:
    current = selectors.rules_get(tenant=request.tenant)
    form = RulesForm(request.POST or None, initial=RulesForm.initial_from(current))
    preview, status = None, 200
    if request.method == "POST" and form.is_valid():
        data = form.rules_data()
        if not form.errors:
            try:
                if "preview" in request.POST:
                    preview = selectors.run_get(tenant=request.tenant, run_id=services.preview_queue(
                        tenant=request.tenant, data=data, trigger=console_context(request).actor))
                else:
                    ctx = console_context(request)
                    services.rules_update(tenant=ctx.tenant, data=data, actor=ctx.actor)
                    messages.success(request, "Rules saved; identities are being rebuilt under them (see Rebuilds below).")
                    return redirect("identity:index")
            except DomainError as exc:
                for error in exc.errors or [{"field": None, "message": exc.detail}]:
                    form.add_error(error["field"] if error.get("field") in form.fields else None, error["message"])
    if form.errors:
        status = 422
    template = "identity/rules.html#preview" if request.htmx and preview is not None else "identity/rules.html"
    return render(request, template, {"form": form, "preview": preview, "defaults": current["defaults"]}, status=status)


@require_POST
@role_required("identity-rules")
def run_now(request: HttpRequest) -> HttpResponse:
    ctx = console_context(request)
    services.run_queue(tenant=ctx.tenant, trigger=ctx.actor)
    messages.success(request, "Rebuild queued; its progress shows under Rebuilds.")
    return redirect("identity:index")


@role_required("identity-rules")
def preview_panel(request: HttpRequest, run_id: int) -> HttpResponse:
    """A queued preview's panel: it polls itself until the preview is done."""
    return render(request, "identity/rules.html#preview", {"preview": selectors.run_get(tenant=request.tenant, run_id=run_id)})


@role_required("identity")
def runs_panel(request: HttpRequest) -> HttpResponse:
    """The Rebuilds panel alone: it polls itself while a rebuild is queued or running."""
    return render(request, "identity/index.html#runs", _runs_context(request))


def _runs_context(request: HttpRequest) -> dict:
    runs = selectors.run_page(tenant=request.tenant, limit=10, offset=0)
    return {"runs": runs, "runs_active": any(r["state"] in ("queued", "running") for r in runs.items)}


@require_POST
@role_required("identity")
def unmerge(request: HttpRequest, cdp_id: str) -> HttpResponse:
    form = UnmergeForm(request.POST)
    id_type, _, value = (request.POST.get("identifier") or "").partition(":")
    if not form.is_valid() or not value:
        messages.error(request, "Choose the identifier to block.")
        return redirect("customers:profile", cdp_id=cdp_id)
    ctx = console_context(request)
    outcome = services.customer_unmerge(tenant=ctx.tenant, cdp_id=cdp_id, id_type=id_type, id_value=value,
                                        reason=form.cleaned_data["reason"], actor=ctx.actor, on_moved=profiles_follow)
    parts = sorted({c for c in outcome.assignment.values()})
    messages.success(request, f"Blocked {id_type} {value}; the identifiers now belong to {len(parts)} customer(s).")
    return redirect("customers:profile", cdp_id=cdp_id)
