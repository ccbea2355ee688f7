"""The console's segments: the list, the builder with a live count, a segment's size over time,
members and runs, a manual list's upload, and why a customer is in it."""
from __future__ import annotations

import json
from datetime import date

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from console.access import console_context, offset_param, role_required
from customers.selectors import vocabulary
from identity.selectors import customer_named
from kernel.charts import daily_bar_chart
from kernel.errors import DomainError, InvalidInput
from segments import builder, exports, selectors, services
from segments.forms import SegmentForm, UploadForm, definition_text
from segments.lists import refs_from_csv
from segments.models import Segment

PAGE_SIZE = 50
CONDITION_CHOICES = [("trait", "Trait or computed trait"), ("event", "Performed an event"), ("not_performed", "Did not perform an event"),
                     ("sequence", "One event then (or without) another"), ("regular", "Regular: active in K of the last M periods"),
                     ("lapsed", "Lapsed: did it before, not lately"), ("trait_held", "Trait has held a value for N days"),
                     ("identifier", "Has an identifier"), ("consent", "Consent"), ("segment", "In another segment"),
                     ("bucket", "Random bucket (sample, holdout)"), ("any", "A group: any of…")]


def _names(tenant) -> dict[int, str]:
    return dict(Segment.objects.filter(tenant_id=tenant.id).values_list("id", "name"))


def _builder_context(request: HttpRequest, definition: dict, *, error: str = "", words=None) -> dict:
    words = words or vocabulary(tenant=request.tenant)
    names = _names(request.tenant)
    groups = [line for line in builder.lines(definition, names) if line.group in ("all", "any")]
    return {"definition": definition, "definition_text": definition_text(definition), "lines": builder.lines(definition, names),
            "groups": groups, "choices": CONDITION_CHOICES, "words": words, "builder_error": error,
            "segments": sorted(names.items(), key=lambda item: item[1])}


@role_required("segments")
def segment_list(request: HttpRequest) -> HttpResponse:
    page = selectors.segment_list(tenant=request.tenant, limit=PAGE_SIZE, offset=offset_param(request))
    return render(request, "segments/list.html", {"page": page})


def _save(request: HttpRequest, form: SegmentForm, *, segment_id: int | None, kind: str):
    ctx = console_context(request)
    values = form.cleaned_data
    try:
        if segment_id is None:
            return services.segment_create(tenant=ctx.tenant, actor=ctx.actor, name=values["name"], description=values["description"],
                                           refresh_minutes=values["refresh_minutes"], kind=kind,
                                           definition=values["definition"] if kind == "rules" else None)
        changes = {k: values[k] for k in ("name", "description", "refresh_minutes")}
        if kind == "rules":
            changes["definition"] = values["definition"]
        return services.segment_update(tenant=ctx.tenant, segment_id=segment_id, actor=ctx.actor, changes=changes)
    except DomainError as exc:
        for error in exc.errors or [{"field": None, "message": exc.detail}]:
            field = error.get("field") or ""
            target = "definition" if field.startswith("definition") else field if field in form.fields else None
            form.add_error(target, f"{field.removeprefix('definition')}: {error['message']}" if target == "definition" and field != "definition"
                           else error["message"])
        return None


@role_required("segments")
def segment_new(request: HttpRequest) -> HttpResponse:
    kind = "manual" if request.GET.get("kind") == "manual" or request.POST.get("kind") == "manual" else "rules"
    form = SegmentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        info = _save(request, form, segment_id=None, kind=kind) if form.is_valid() else None
        if info:
            if kind == "rules":
                services.segment_refresh_queue(tenant=request.tenant, segment_id=info.id, trigger=console_context(request).actor)
            messages.success(request, f"{info.name} is saved{'; its members are being worked out' if kind == 'rules' else ''}.")
            return redirect("segments:detail", segment_id=info.id)
        status = 422
    definition = _posted_definition(request) if request.method == "POST" else {}
    return render(request, "segments/form.html", {"form": form, "kind": kind, "segment": None, **_builder_context(request, definition)},
                  status=status)


@role_required("segments")
def segment_edit(request: HttpRequest, segment_id: int) -> HttpResponse:
    info = selectors.segment_get(tenant=request.tenant, segment_id=segment_id)
    initial = {"name": info.name, "description": info.description, "refresh_minutes": info.refresh_minutes,
               "definition": definition_text(info.definition)}
    form = SegmentForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        saved = _save(request, form, segment_id=segment_id, kind=info.kind) if form.is_valid() else None
        if saved:
            if info.kind == "rules" and saved.version != info.version:
                services.segment_refresh_queue(tenant=request.tenant, segment_id=segment_id, trigger=console_context(request).actor)
            messages.success(request, f"{saved.name} is saved (version {saved.version}).")
            return redirect("segments:detail", segment_id=segment_id)
        status = 422
    definition = _posted_definition(request) if request.method == "POST" else info.definition
    return render(request, "segments/form.html", {"form": form, "kind": info.kind, "segment": info,
                                                  **_builder_context(request, definition)}, status=status)


def _posted_definition(request: HttpRequest) -> dict:
    try:
        value = json.loads(request.POST.get("definition") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@require_POST
@role_required("segments")
def segment_builder(request: HttpRequest) -> HttpResponse:
    """One builder step on the posted definition: add a condition to a group, remove or negate a node."""
    text = request.POST.get("definition") or ""
    try:
        definition = json.loads(text) if text.strip() else {}
        if not isinstance(definition, dict):
            raise ValueError("not an object")
    except ValueError:
        context = _builder_context(request, {}, error="The JSON below is not valid; fix it before using the builder.")
        context["definition_text"] = text
        return render(request, "segments/form.html#builder", context)
    op, _, path = (request.POST.get("op") or "").partition("|")
    words = vocabulary(tenant=request.tenant)
    try:
        if op == "add":
            choice = request.POST.get("condition", "trait")
            name = (request.POST.get("term") or "").strip()
            if choice == "segment":
                condition = {"type": "segment", "segment_id": int(request.POST.get("segment_id") or 0)}
            else:
                condition = builder.templates([name] + words.events if name else words.events,
                                              [name] + words.traits if name else words.traits).get(choice)
                if condition is None:
                    raise ValueError(choice)
            definition = builder.add(definition, path or "$", condition)
        elif op == "remove":
            definition = builder.remove(definition, path)
        elif op == "negate":
            definition = builder.negate(definition, path)
    except (ValueError, KeyError, IndexError, TypeError):
        return render(request, "segments/form.html#builder", _builder_context(request, definition, words=words,
                                                                              error="That step does not apply here."))
    return render(request, "segments/form.html#builder", _builder_context(request, definition, words=words))


@require_POST
@role_required("segments")
def segment_preview(request: HttpRequest) -> HttpResponse:
    """The live count and sample for the definition being edited (without saving it)."""
    definition = _posted_definition(request)
    if not definition:
        return render(request, "segments/preview.html", {"empty": True})
    try:
        services.definition_checked(request.tenant, definition)
    except InvalidInput as exc:
        return render(request, "segments/preview.html", {"errors": exc.errors or [{"field": "definition", "message": exc.detail}]})
    preview = selectors.segment_preview(tenant=request.tenant, definition=definition)
    return render(request, "segments/preview.html", {"preview": preview})


@role_required("segments")
def segment_detail(request: HttpRequest, segment_id: int) -> HttpResponse:
    info = selectors.segment_get(tenant=request.tenant, segment_id=segment_id)
    runs = selectors.segment_runs(tenant=request.tenant, segment_id=segment_id)
    busy = any(r.state in ("queued", "running") for r in runs)
    if request.htmx and request.GET.get("part") == "runs":
        return render(request, "segments/detail.html#runs", {"segment": info, "runs": runs, "busy": busy})
    tables = exports.exports_available()
    table_exports = selectors.segment_exports(tenant=request.tenant, segment_id=segment_id) if tables else []
    exporting = any(e.state in ("queued", "running") for e in table_exports)
    if request.htmx and request.GET.get("part") == "exports":
        return render(request, "segments/detail.html#exports", {"segment": info, "table_exports": table_exports, "exporting": exporting})
    history = selectors.segment_history(tenant=request.tenant, segment_id=segment_id)
    chart = daily_bar_chart([(date.fromisoformat(d.day), d.members) for d in history], title=f"Members of {info.name}, by day",
                            unit="customer")
    query = (request.GET.get("q") or "").strip()
    found = _find_member(request, info, query) if query else None
    members = selectors.segment_members(tenant=request.tenant, segment_id=segment_id, limit=PAGE_SIZE, offset=offset_param(request))
    names = _names(request.tenant)
    return render(request, "segments/detail.html", {
        "segment": info, "runs": runs, "busy": busy, "chart": chart, "history": [d for d in history if d.entered or d.exited][-10:],
        "members": members, "query": query, "found": found, "lines": builder.lines(info.definition, names),
        "upload": UploadForm(), "definition_text": definition_text(info.definition), "tables": tables,
        "table_exports": table_exports, "exporting": exporting})


def _find_member(request: HttpRequest, info, query: str) -> dict:
    """A customer by cdp_id or by an identifier (email, user id...), and whether they are in."""
    cdp_id = customer_named(tenant=request.tenant, who=query) or query
    mine = [s for s in selectors.customer_segments(tenant=request.tenant, cdp_id=cdp_id) if s["segment_id"] == info.id]
    return {"cdp_id": cdp_id, "member": bool(mine), "since": mine[0]["entered_at"] if mine else None}


@require_POST
@role_required("segments")
def segment_refresh(request: HttpRequest, segment_id: int) -> HttpResponse:
    services.segment_refresh_queue(tenant=request.tenant, segment_id=segment_id, trigger=console_context(request).actor)
    messages.success(request, "Refresh queued; the runs below show when it is done.")
    return redirect("segments:detail", segment_id=segment_id)


@require_POST
@role_required("segments")
def segment_delete(request: HttpRequest, segment_id: int) -> HttpResponse:
    ctx = console_context(request)
    try:
        services.segment_delete(tenant=ctx.tenant, segment_id=segment_id, actor=ctx.actor)
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("segments:detail", segment_id=segment_id)
    messages.success(request, "Segment deleted, with its members and history.")
    return redirect("segments:list")


@require_POST
@role_required("segments")
def segment_upload(request: HttpRequest, segment_id: int) -> HttpResponse:
    """A manual list's members from a CSV file."""
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a CSV file and what to do with it.")
        return redirect("segments:detail", segment_id=segment_id)
    ctx = console_context(request)
    try:
        refs = refs_from_csv(form.cleaned_data["file"].read().decode("utf-8-sig"))
        mode = form.cleaned_data["mode"]
        edit = services.segment_list_edit(tenant=ctx.tenant, segment_id=segment_id, actor=ctx.actor, add=refs if mode != "remove" else [],
                                          remove=refs if mode == "remove" else [], replace=mode == "replace")
    except UnicodeDecodeError:
        messages.error(request, "The file is not UTF-8 text; export it as “CSV UTF-8” and upload it again.")
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        note = f" {edit.unknown_count:,} name nobody here (such as {', '.join(edit.unknown[:3])})." if edit.unknown_count else ""
        messages.success(request, f"{edit.added:,} added, {edit.removed:,} removed: {edit.members:,} members.{note}")
    return redirect("segments:detail", segment_id=segment_id)


@require_POST
@role_required("segments")
def segment_table_export(request: HttpRequest, segment_id: int) -> HttpResponse:
    """Queue writing the members to a lakehouse table (Databricks, Spark)."""
    ctx = console_context(request)
    try:
        export = exports.segment_export(tenant=ctx.tenant, segment_id=segment_id, name=request.POST.get("name", ""), actor=ctx.actor)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Writing {export.table}; the exports below show when it is done.")
    return redirect("segments:detail", segment_id=segment_id)


@role_required("segments")
def segment_members_csv(request: HttpRequest, segment_id: int) -> StreamingHttpResponse:
    response = StreamingHttpResponse(selectors.segment_members_csv(tenant=request.tenant, segment_id=segment_id),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="segment-{segment_id}-{request.tenant.slug}.csv"'
    return response


@role_required("segments")
def segment_why(request: HttpRequest, segment_id: int, cdp_id: str) -> HttpResponse:
    info = selectors.segment_get(tenant=request.tenant, segment_id=segment_id)
    why = selectors.segment_explain(tenant=request.tenant, segment_id=segment_id, cdp_id=cdp_id)
    return render(request, "segments/why.html", {"segment": info, "why": why, "names": _names(request.tenant)})


@role_required("segments")
def customer_segments(request: HttpRequest, cdp_id: str) -> HttpResponse:
    """The profile's card: the segments a customer is in, since when, and why (loaded by the page)."""
    return render(request, "segments/customer.html", {"cdp_id": cdp_id,
                                                       "segments": selectors.customer_segments(tenant=request.tenant, cdp_id=cdp_id)})
