"""Console pages for customers: live search, profiles with timeline and activity, trait edits,
consent, suppression, erasure, and computed-trait definitions. Thin: one service or selector each."""
from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from console.access import console_context, offset_param, role_required
from customers import selectors, services
from customers.forms import VALUE_TYPES, ComputedTraitForm, ConsentForm, EraseForm, TraitForm
from customers.services import computed_traits
from identity.layout import graph_layout
from identity.selectors import customer_graph
from kernel.charts import BarChart, bar_chart, daily_bar_chart
from kernel.csvcells import csv_cell, line_writer
from kernel.errors import DomainError, NotFound

PAGE_SIZE = 25
TIMELINE_PAGE = 30
PROFILE_CONFLICTS = 10  # listed under the graph before "Show all"



def _list_filters(request: HttpRequest) -> dict:
    """The list's search, trait filter and sort, from the query string (an unknown sort is the default)."""
    key = request.GET.get("key", "").strip()[:128]
    sort = request.GET.get("sort", "first_seen")
    return {"q": request.GET.get("q", "").strip()[:200], "trait": (key, request.GET.get("value", "")[:2000]) if key else None,
            "sort": sort if sort in selectors.CUSTOMER_SORTS else "first_seen"}


@role_required("customers")
def customer_list(request: HttpRequest) -> HttpResponse:
    filters = _list_filters(request)
    page = selectors.customer_page(tenant=request.tenant, **filters, limit=PAGE_SIZE, offset=offset_param(request))
    template = "customers/list.html#results" if request.htmx else "customers/list.html"
    key, value = filters["trait"] or ("", "")
    query = urlencode({k: v for k, v in (("q", filters["q"]), ("key", key), ("value", value), ("sort", filters["sort"])) if v})
    return render(request, template, {"page": page, "q": filters["q"], "key": key, "value": value, "sort": filters["sort"],
                                      "sorts": selectors.CUSTOMER_SORTS, "query": query})


EXPORT_COLUMNS = ("cdp_id", "name", "email", "identifiers", "first_seen_at", "last_seen_at")


@role_required("customers")
def customer_list_export(request: HttpRequest) -> StreamingHttpResponse:
    """The list as filtered and sorted, as CSV, streamed a thousand customers at a time (it starts
    at once however long the list; cells a spreadsheet would run as formulas are written as text)."""
    rows = selectors.customer_rows(tenant=request.tenant, **_list_filters(request))
    writer = line_writer()

    def lines():
        yield writer.writerow(EXPORT_COLUMNS)
        for customer in rows:
            yield writer.writerow([csv_cell(_cell(getattr(customer, column))) for column in EXPORT_COLUMNS])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="customers-{request.tenant.slug}.csv"'
    return response


def _cell(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return "" if value is None else value


def _profile_context(request: HttpRequest, cdp_id: str, **extra) -> dict:
    profile = selectors.customer_get(tenant=request.tenant, cdp_id=cdp_id)
    cdp_id = profile.cdp_id  # a merged id shows the customer it was merged into
    try:
        graph = customer_graph(tenant=request.tenant, cdp_id=cdp_id)
    except NotFound:  # traits without identifiers (every one blocked): nothing to draw
        graph = {"nodes": [], "edges": [], "merges": [], "conflicts": []}
    expanded = request.GET.get("graph") == "all"
    return {"profile": profile, "profile_id": cdp_id, "graph": graph, "graph_svg": graph_layout(graph, expanded=expanded),
            "conflicts_shown": len(graph["conflicts"]) if expanded else PROFILE_CONFLICTS,
            "chart": activity_chart(selectors.customer_activity(tenant=request.tenant, cdp_id=cdp_id)),
            "timeline": _timeline(request, cdp_id), "trait_form": TraitForm(), "consent_form": ConsentForm(),
            "erase_form": EraseForm(), "trait_types": VALUE_TYPES, **extra}


def activity_chart(days) -> BarChart:
    return daily_bar_chart([(d.day, d.events) for d in days], title="Events per day, last 90 days")


def _timeline(request: HttpRequest, cdp_id: str):
    return selectors.customer_events(tenant=request.tenant, cdp_id=cdp_id, type=request.GET.get("type", ""),
                                     limit=TIMELINE_PAGE, offset=offset_param(request))


@role_required("customers")
def customer_profile(request: HttpRequest, cdp_id: str) -> HttpResponse:
    return render(request, "customers/profile.html", _profile_context(request, cdp_id))


@role_required("customers")
def customer_timeline(request: HttpRequest, cdp_id: str) -> HttpResponse:
    """More of the timeline: the rows alone for HTMX, the whole profile page without it."""
    if not request.htmx:
        return customer_profile(request, cdp_id)
    selectors.customer_get(tenant=request.tenant, cdp_id=cdp_id)
    return render(request, "customers/profile.html#timeline_rows", {"timeline": _timeline(request, cdp_id), "profile_id": cdp_id})


def _form_failed(request: HttpRequest, cdp_id: str, **forms) -> HttpResponse:
    return render(request, "customers/profile.html", _profile_context(request, cdp_id, **forms), status=422)


@require_POST
@role_required("customers")
def trait_set(request: HttpRequest, cdp_id: str) -> HttpResponse:
    form = TraitForm(request.POST)
    if not form.is_valid():
        return _form_failed(request, cdp_id, trait_form=form)
    ctx, key = console_context(request), form.cleaned_data["key"]
    services.customer_update_traits(tenant=ctx.tenant, cdp_id=cdp_id, set_traits={key: form.cleaned_data["value"]}, unset=[],
                                    actor=ctx.actor, source="console")
    messages.success(request, f"Set {key}.")
    return redirect("customers:profile", cdp_id=cdp_id)


@require_POST
@role_required("customers")
def trait_unset(request: HttpRequest, cdp_id: str) -> HttpResponse:
    # The key travels in the form, not the URL: a trait saved under any name (even one with "/",
    # or empty, from before names were checked) can be removed.
    key = request.POST.get("key", "")
    ctx = console_context(request)
    services.customer_update_traits(tenant=ctx.tenant, cdp_id=cdp_id, set_traits={}, unset=[key], actor=ctx.actor, source="console")
    messages.success(request, f"Removed {key}.")
    return redirect("customers:profile", cdp_id=cdp_id)


@require_POST
@role_required("customers")
def consent_set(request: HttpRequest, cdp_id: str) -> HttpResponse:
    form = ConsentForm(request.POST)
    if not form.is_valid():
        return _form_failed(request, cdp_id, consent_form=form)
    ctx = console_context(request)
    services.customer_consent_set(tenant=ctx.tenant, cdp_id=cdp_id, actor=ctx.actor, source="console", **form.cleaned_data)
    messages.success(request, "Consent recorded.")
    return redirect("customers:profile", cdp_id=cdp_id)


@require_POST
@role_required("customers")
def suppression_set(request: HttpRequest, cdp_id: str, action: str) -> HttpResponse:
    ctx = console_context(request)
    change = services.customer_suppress if action == "suppress" else services.customer_unsuppress
    change(tenant=ctx.tenant, cdp_id=cdp_id, actor=ctx.actor)
    messages.success(request, "Suppressed: new events for this customer are dropped." if action == "suppress" else "No longer suppressed.")
    return redirect("customers:profile", cdp_id=cdp_id)


@require_POST
@role_required("customers")
def customer_erase(request: HttpRequest, cdp_id: str) -> HttpResponse:
    form = EraseForm(request.POST)
    if not form.is_valid() or form.cleaned_data["confirm"].strip() != cdp_id:
        form.add_error("confirm", f"Type {cdp_id} exactly to confirm the erasure.")
        return _form_failed(request, cdp_id, erase_form=form)
    ctx = console_context(request)
    summary = services.customer_erase(tenant=ctx.tenant, cdp_id=cdp_id, actor=ctx.actor)
    messages.success(request, f"Erased {cdp_id}: {summary['identifiers']} identifier(s) stay suppressed so replays bring nothing back.")
    return redirect("customers:list")


@role_required("customers")
def computed_trait_list(request: HttpRequest) -> HttpResponse:
    form = ComputedTraitForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            ctx = console_context(request)
            try:
                info = computed_traits.computed_trait_create(tenant=ctx.tenant, actor=ctx.actor, values=form.cleaned_data)
            except DomainError as exc:
                for error in exc.errors or [{"field": None, "message": exc.detail}]:
                    form.add_error(error["field"] if error.get("field") in form.fields else None, error["message"])
            else:
                messages.success(request, f"{info.name} is saved; it is being computed for every customer.")
                return redirect("customers:computed-traits")
        status = 422
    page = computed_traits.computed_trait_list(tenant=request.tenant, limit=100, offset=offset_param(request))
    busy = any(t.state in ("queued", "running") for t in page.items)
    template = "customers/computed_traits.html#definitions" if request.htmx and request.method == "GET" else "customers/computed_traits.html"
    return render(request, template, {"form": form, "page": page, "busy": busy}, status=status)


@role_required("customers")
def computed_trait_detail(request: HttpRequest, trait_id: int) -> HttpResponse:
    """One definition: its values' distribution, its state (polled while it computes), and for
    editors the definition to change (saving recomputes it for everyone)."""
    info = computed_traits.computed_trait_get(tenant=request.tenant, trait_id=trait_id)
    form = ComputedTraitForm(request.POST or None, initial={f: getattr(info, f) for f in ComputedTraitForm.base_fields})
    status = 200
    if request.method == "POST":
        if form.is_valid():  # role_required let only roles that may change customers post
            ctx = console_context(request)
            try:
                info = computed_traits.computed_trait_update(tenant=ctx.tenant, trait_id=trait_id, actor=ctx.actor, changes=form.cleaned_data)
            except DomainError as exc:
                for error in exc.errors or [{"field": None, "message": exc.detail}]:
                    form.add_error(error["field"] if error.get("field") in form.fields else None, error["message"])
            else:
                messages.success(request, f"{info.name} is saved; it is being recomputed for every customer.")
                return redirect("customers:computed-trait", trait_id=trait_id)
        status = 422
    busy = info.state in ("queued", "running")
    if request.htmx and request.method == "GET":
        return render(request, "customers/computed_trait.html#state", {"trait": info, "busy": busy})
    distribution = selectors.trait_distribution(tenant=request.tenant, key=info.name)
    return render(request, "customers/computed_trait.html", {"trait": info, "form": form, "busy": busy, "distribution": distribution,
                                                             "chart": distribution_chart(distribution)}, status=status)


def distribution_chart(distribution) -> BarChart | None:
    if not distribution.bars:
        return None
    if distribution.kind == "days":
        return daily_bar_chart([(date.fromisoformat(day), n) for day, n in distribution.bars], title=f"{distribution.key} by day",
                               unit="customer")
    return bar_chart(distribution.bars, title=f"Customers by {distribution.key}", unit="customer",
                     category="Range" if distribution.kind == "numbers" else "Value")


@require_POST
@role_required("customers")
def computed_trait_refresh(request: HttpRequest, trait_id: int) -> HttpResponse:
    ctx = console_context(request)
    info = computed_traits.computed_trait_refresh(tenant=ctx.tenant, trait_id=trait_id, actor=ctx.actor)
    messages.success(request, f"{info.name} is being recomputed for every customer.")
    return redirect("customers:computed-trait", trait_id=trait_id)


@require_POST
@role_required("customers")
def computed_trait_delete(request: HttpRequest, trait_id: int) -> HttpResponse:
    ctx = console_context(request)
    computed_traits.computed_trait_delete(tenant=ctx.tenant, trait_id=trait_id, actor=ctx.actor)
    messages.success(request, "Computed trait deleted, and its values removed from every profile.")
    return redirect("customers:computed-traits")
