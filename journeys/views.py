"""The console's journeys: the list with status and counts, the editor (the definition as JSON,
checked with each problem at its node), a journey's diagram with per-node counts, publishing
with the in-flight choice, pausing, the report against the holdout, and the instance explorer
("why is this customer here")."""
from __future__ import annotations

import re

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from console.access import console_context, first_error, offset_param, role_required
from identity.selectors import customer_named
from journeys import report, selectors, simulate
from journeys.diagram import diagram
from journeys.forms import STARTER, JourneyForm, JourneyTestForm, PublishForm, SimulationForm, definition_text
from journeys.graph import parsed as parsed_definition
from journeys.graph import schema_errors
from journeys.models import Instance
from journeys.node_forms import NODE_TYPES, NodeForm
from journeys.services import journeys as services
from journeys.services import simulations, test_sends
from kernel.errors import DomainError
from kernel.timezones import tenant_zone
from messaging.selectors import channel_list, template_list
from segments.selectors import segment_list

PAGE_SIZE = 50
STATUSES = ("active", "holdout", "completed", "exited", "converted", "failed")


@role_required("journeys")
def journey_list(request: HttpRequest) -> HttpResponse:
    page = selectors.journey_list(tenant=request.tenant, limit=PAGE_SIZE, offset=offset_param(request))
    return render(request, "journeys/list.html", {"page": page, "ticks": selectors.ticks_recent(limit=10)})


def _form_errors(form: JourneyForm, exc: DomainError) -> None:
    for error in exc.errors or [{"field": "", "message": exc.detail}]:
        field = error.get("field") or ""
        if field.startswith("definition."):
            form.add_error("definition", f"{field.removeprefix('definition.')}: {error['message']}")
        else:
            form.add_error(field if field in form.fields else None, error["message"])


@role_required("journeys")
def journey_new(request: HttpRequest) -> HttpResponse:
    form = JourneyForm(request.POST or None, initial={"definition": definition_text(STARTER)})
    if request.method == "POST" and form.is_valid():
        ctx = console_context(request)
        try:
            info = services.journey_create(tenant=ctx.tenant, actor=ctx.actor, name=form.cleaned_data["name"],
                                           description=form.cleaned_data["description"], definition=form.cleaned_data["definition"])
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{info.name} is saved as a draft; publish it when it is ready.")
            return redirect("journeys:detail", journey_id=info.id)
    return render(request, "journeys/form.html", {"form": form, "journey": None}, status=422 if form.errors else 200)


@role_required("journeys")
def journey_edit(request: HttpRequest, journey_id: int) -> HttpResponse:
    info = selectors.journey_get(tenant=request.tenant, journey_id=journey_id)
    form = JourneyForm(request.POST or None, initial={"name": info.name, "description": info.description,
                                                      "definition": definition_text(info.definition)})
    if request.method == "POST" and form.is_valid():
        ctx = console_context(request)
        try:
            saved = services.journey_update(tenant=ctx.tenant, journey_id=journey_id, actor=ctx.actor, changes=form.cleaned_data)
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            draft = saved.version != saved.live_version
            messages.success(request, f"{saved.name} is saved" + (f" (version {saved.version}, a draft: publish it to use it)." if draft else "."))
            return redirect("journeys:detail", journey_id=journey_id)
    return render(request, "journeys/form.html", {"form": form, "journey": info, "nodes": _node_rows(info.definition),
                                                  "start": info.definition.get("start"), "node_types": NODE_TYPES},
                  status=422 if form.errors else 200)


def _node_rows(definition: dict) -> list[dict]:
    """The nodes of a stored definition (a draft may be off the schema: read as plain data) with
    where each one leads."""
    rows = []
    for node in definition.get("nodes") or []:
        if not isinstance(node, dict) or not isinstance(node.get("id"), str):
            continue
        targets = [node.get(k) for k in ("next", "timeout_next", "missing_next", "else")]
        targets += [w.get("next") for k in ("events", "ways") for w in (node.get(k) or []) if isinstance(w, dict)]
        failure = node.get("on_failure")
        targets.append(failure.get("next") if isinstance(failure, dict) else None)
        rows.append({"id": node["id"], "type": node.get("type", ""), "label": node.get("label", ""),
                     "targets": list(dict.fromkeys(t for t in targets if isinstance(t, str) and t))})
    return rows


def _save_definition(request: HttpRequest, info, definition: dict, form=None) -> bool:
    """Save a changed definition (a new draft when the newest version is live); a problem goes to
    `form` at its field, or to the page's messages."""
    ctx = console_context(request)
    try:
        services.journey_update(tenant=ctx.tenant, journey_id=info.id, actor=ctx.actor, changes={"definition": definition})
    except DomainError as exc:
        for error in exc.errors or [{"field": "", "message": exc.detail}]:
            field = (error.get("field") or "").removeprefix("definition.")
            key = field.partition("].")[2].split(".")[0] if field.startswith("nodes[") else ""
            if form is None:
                messages.error(request, f"{field}: {error['message']}" if field else error["message"])
            else:
                form.add_error(key if key in form.fields else None, f"{field}: {error['message']}" if field else error["message"])
        return False
    return True


@role_required("journeys")
def node_edit(request: HttpRequest, journey_id: int, node_id: str | None = None) -> HttpResponse:
    """Add a node (`?type=`) or change one, through a form made from its type's schema; saving
    changes the draft (a new one when the newest version is live), as editing the JSON does."""
    info = selectors.journey_get(tenant=request.tenant, journey_id=journey_id)
    nodes = [n for n in (info.definition.get("nodes") or []) if isinstance(n, dict)]
    node = next((n for n in nodes if n.get("id") == node_id), None) if node_id is not None else None
    if node_id is not None and node is None:
        messages.error(request, f"Version {info.version} has no node {node_id}.")
        return redirect(f"{reverse('journeys:edit', args=[journey_id])}#nodes-title")
    node_type = node.get("type") if node else (request.POST.get("type") or request.GET.get("type") or "")
    if node_type not in NODE_TYPES:
        messages.error(request, f"Choose a kind of node: {', '.join(NODE_TYPES)}.")
        return redirect(f"{reverse('journeys:edit', args=[journey_id])}#nodes-title")
    ids = [n.get("id") for n in nodes if isinstance(n.get("id"), str)]
    form = NodeForm(request.POST or None, node_type=node_type, node=node, pickers=_pickers(request, node_type, journey_id))
    if request.method == "POST" and info.status == "archived":
        form.add_error(None, f"{info.name} is archived; it cannot change.")
    elif request.method == "POST" and form.is_valid():
        if node is None and form.node["id"] in ids:
            form.add_error("id", f"The journey has a node {form.node['id']} already.")
        else:
            changed = [form.node if n is node else n for n in nodes] if node is not None else [*nodes, form.node]
            definition = {**info.definition, "nodes": changed}
            if not definition.get("start"):
                definition["start"] = form.node["id"]  # a journey without a start starts at its first node
            if _save_definition(request, info, definition, form):
                messages.success(request, f"Node {form.node['id']} is saved" + (" in a new draft version: publish it to use it."
                                                                                 if info.version == info.live_version else "."))
                return redirect(f"{reverse('journeys:edit', args=[journey_id])}#nodes-title")
    template = "journeys/node.html#node_form" if request.htmx else "journeys/node.html"
    return render(request, template, {"journey": info, "form": form, "node": node, "node_type": node_type, "node_ids": ids},
                  status=422 if form.errors else 200)


def _pickers(request: HttpRequest, node_type: str, journey_id: int) -> dict[str, list[tuple[int, str]]]:
    """The choices of a node's id fields: channels and templates of the kinds it can use, other journeys."""
    if node_type in ("send", "webhook"):
        webhook = node_type == "webhook"
        return {"channel_id": [(c.id, f"{c.name} ({c.kind})") for c in channel_list(tenant=request.tenant) if (c.kind == "webhook") == webhook],
                "template_id": [(t.id, f"{t.name} ({t.channel_kind})") for t in template_list(tenant=request.tenant)
                                if (t.channel_kind == "webhook") == webhook]}
    if node_type == "enroll":
        return {"journey_id": [(j.id, j.name) for j in selectors.journey_list(tenant=request.tenant, limit=500, offset=0).items
                               if j.id != journey_id]}
    return {}


@require_POST
@role_required("journeys")
def node_delete(request: HttpRequest, journey_id: int, node_id: str) -> HttpResponse:
    """Remove a node from the draft; nodes that pointed at it point nowhere until changed
    (publishing names them)."""
    info = selectors.journey_get(tenant=request.tenant, journey_id=journey_id)
    nodes = [n for n in (info.definition.get("nodes") or []) if isinstance(n, dict)]
    kept = [n for n in nodes if n.get("id") != node_id]
    if len(kept) == len(nodes):
        messages.error(request, f"Version {info.version} has no node {node_id}.")
    elif not kept:
        messages.error(request, "A journey keeps at least one node; add another before removing this one.")
    elif _save_definition(request, info, {**info.definition, "nodes": kept}):
        messages.success(request, f"Node {node_id} is removed; publishing names any node that still points at it.")
    return redirect(f"{reverse('journeys:edit', args=[journey_id])}#nodes-title")


def _counts(row_id: int, version: int | None) -> dict[str, int]:
    if version is None:
        return {}
    rows = Instance.objects.filter(journey_id=row_id, version=version, status__in=Instance.LIVE).values_list("node", flat=True)
    out: dict[str, int] = {}
    for node in rows.iterator():
        out[node] = out.get(node, 0) + 1
    return out


@role_required("journeys")
def journey_detail(request: HttpRequest, journey_id: int) -> HttpResponse:
    info = selectors.journey_get(tenant=request.tenant, journey_id=journey_id)
    test = _test(request, info)
    if request.htmx and request.GET.get("part") == "test":  # the test card's form, answered in place
        return render(request, "journeys/_test.html", {"journey": info, **test})
    results = report.journey_report(tenant=request.tenant, journey_id=journey_id)
    shown = info.live_version or info.version
    arrived = {n["node"]: n["arrived"] for v in results["versions"] if v["version"] == shown for n in v["nodes"]}
    picture = diagram(parsed_definition(info.definition), here=_counts(info.id, shown), arrived=arrived) \
        if not schema_errors(info.definition) else None
    filters = {k: request.GET.get(k, "") for k in ("node", "status", "key")}
    filters["status"] = filters["status"] if filters["status"] in STATUSES else ""
    instances = selectors.journey_instances(tenant=request.tenant, journey_id=journey_id, limit=PAGE_SIZE, offset=offset_param(request),
                                            **filters)
    draft = info.version != info.live_version
    simulations = _simulations(request, info)
    if request.GET.get("part") == "simulations":  # the polling widget, replaced in place
        return render(request, "journeys/_simulations.html", {"journey": info, **simulations})
    return render(request, "journeys/detail.html", {**simulations, **test,
        "journey": info, "diagram": picture, "results": results, "instances": instances, "filters": filters, "statuses": STATUSES,
        "versions": selectors.journey_versions(tenant=request.tenant, journey_id=journey_id), "draft": draft,
        "problems": services.publish_problems(tenant=request.tenant, definition=info.definition) if draft else [],
        "publish_form": PublishForm()})


def _test(request: HttpRequest, info) -> dict:
    """The single-customer test (a GET: it changes nothing): its form and, once a customer is
    named, each step the newest version (or the one asked) would take for them, with the path
    drawn on the diagram. A problem is shown at the field it concerns."""
    spec = parsed_definition(info.definition) if not schema_errors(info.definition) else None
    asked = f"{JourneyTestForm.prefix}-customer" in request.GET
    form = JourneyTestForm(request.GET if asked else None, spec=spec, zone=tenant_zone(request.tenant))
    out = {"test_form": form, "test": None, "test_diagram": None}
    if not asked or not form.is_valid():
        return out
    who = form.cleaned_data["customer"].strip()
    try:
        result = simulate.journey_test(tenant=request.tenant, journey_id=info.id, cdp_id=customer_named(tenant=request.tenant, who=who) or who,
                                       **form.request())
    except DomainError as exc:
        field = next((e.get("field", "") for e in exc.errors), "")
        field = f"choice_{field.removeprefix('choices.')}" if field.startswith("choices.") else field
        form.add_error(field if field in form.fields else None, exc.detail)
        return out
    version = next((v for v in selectors.journey_versions(tenant=request.tenant, journey_id=info.id) if v.version == result["version"]), None)
    if version is not None and not schema_errors(version.definition):
        visited = {s["node"] for s in result["steps"] if s["node"]} | {s["to_node"] for s in result["steps"] if s["to_node"]}
        last = result["steps"][-1]
        out["test_diagram"] = diagram(parsed_definition(version.definition), here={last["to_node"] or last["node"]: 1},
                                      arrived=dict.fromkeys(visited, 1))
    query = request.GET.copy()
    query.pop("part", None)
    out["test"], out["test_query"] = {**result, "who": who}, query.urlencode()
    return out


@require_POST
@role_required("journeys")
def journey_test_send(request: HttpRequest, journey_id: int) -> HttpResponse:
    """The single-customer test asked again (its query string), its messages sent to test
    addresses as rendered for that customer; back to the test with what was sent."""
    info = selectors.journey_get(tenant=request.tenant, journey_id=journey_id)
    spec = parsed_definition(info.definition) if not schema_errors(info.definition) else None
    form = JourneyTestForm(request.GET, spec=spec, zone=tenant_zone(request.tenant))
    back = redirect(f"{reverse('journeys:detail', args=[journey_id])}?{request.GET.urlencode()}#test-title")
    addresses = [a for a in re.split(r"[\s,;]+", request.POST.get("send_to", "")) if a]
    if not form.is_valid() or not addresses:
        messages.error(request, "Not sent: name the test addresses, one a line, after trying the journey on a customer.")
        return back
    ctx = console_context(request)
    who = form.cleaned_data["customer"].strip()
    try:
        result = test_sends.journey_test_send(tenant=ctx.tenant, journey_id=journey_id, actor=ctx.actor, addresses=addresses,
                                              cdp_id=customer_named(tenant=ctx.tenant, who=who) or who, **form.request())
    except DomainError as exc:
        messages.error(request, f"Not sent: {exc.detail}")
        return back
    sent = result["sent"]
    if sent:
        messages.success(request, f"{len(sent)} test message{'s' if len(sent) != 1 else ''} sent to {', '.join(addresses)}, "
                                  f"as rendered for {who}: Messages shows each delivery.")
    else:
        messages.info(request, "Nothing sent: on this path the journey sends no message.")
    return back


def _simulations(request: HttpRequest, info, form: SimulationForm | None = None) -> dict:
    """The journey's simulations, the one shown (`?simulation=`, else the newest) drawn as the
    diagram with the counts it simulated, and the form to ask for another."""
    runs = selectors.journey_simulations(tenant=request.tenant, journey_id=info.id)
    wanted = request.GET.get("simulation", "")
    shown = next((r for r in runs if str(r.id) == wanted), runs[0] if runs else None)
    picture = None
    if shown is not None and shown.result:
        definition = next((v.definition for v in selectors.journey_versions(tenant=request.tenant, journey_id=info.id)
                           if v.version == shown.version), None)
        nodes = [n for v in shown.result["report"]["versions"] if v["version"] == shown.version for n in v["nodes"]]
        if definition is not None and not schema_errors(definition):
            picture = diagram(parsed_definition(definition), here={n["node"]: n["here"] for n in nodes},
                              arrived={n["node"]: n["arrived"] for n in nodes})
    segments = segment_list(tenant=request.tenant, limit=200, offset=0).items
    rows = [{"run": r, "start": parse_datetime(r.params.get("start") or ""), "end": parse_datetime(r.params.get("end") or "")}
            for r in runs]
    return {"simulations": rows, "simulation": shown, "simulated_diagram": picture,
            "simulated": {k: parse_datetime(shown.result[k]) for k in ("start", "end", "reached")} if shown and shown.result else {},
            "busy": any(r.state in ("queued", "running") for r in runs),
            "simulation_form": form or SimulationForm(segments=segments, zone=tenant_zone(request.tenant))}


@require_POST
@role_required("journeys")
def journey_simulate(request: HttpRequest, journey_id: int) -> HttpResponse:
    """Ask for a simulation (a worker runs it; the journey's page follows it)."""
    ctx = console_context(request)
    segments = segment_list(tenant=ctx.tenant, limit=200, offset=0).items
    form = SimulationForm(request.POST, segments=segments, zone=tenant_zone(ctx.tenant))
    if not form.is_valid():
        messages.error(request, f"Not simulated: {first_error(form)}")
        return redirect(f"{reverse('journeys:detail', args=[journey_id])}#simulations-title")
    try:
        simulation = simulations.simulation_queue(tenant=ctx.tenant, journey_id=journey_id, actor=ctx.actor, **form.request())
    except DomainError as exc:
        messages.error(request, f"Not simulated: {exc.detail}")
        return redirect(f"{reverse('journeys:detail', args=[journey_id])}#simulations-title")
    messages.success(request, "Simulation queued: this page shows it when it is done." if simulation.state == "queued"
                     else "Simulated: the figures are below.")
    return redirect(f"{reverse('journeys:detail', args=[journey_id])}?simulation={simulation.id}#simulations-title")


@require_POST
@role_required("journeys")
def journey_publish(request: HttpRequest, journey_id: int) -> HttpResponse:
    form = PublishForm(request.POST)
    ctx = console_context(request)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("journeys:detail", journey_id=journey_id)
    try:
        info = services.journey_publish(tenant=ctx.tenant, journey_id=journey_id, actor=ctx.actor, in_flight=form.cleaned_data["in_flight"],
                                        node_map=form.cleaned_data["node_map"])
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Version {info.live_version} of {info.name} is live.")
    return redirect("journeys:detail", journey_id=journey_id)


@require_POST
@role_required("journeys")
def journey_status(request: HttpRequest, journey_id: int) -> HttpResponse:
    status = {"pause": "paused", "resume": "active", "archive": "archived"}.get(request.POST.get("action", ""))
    ctx = console_context(request)
    if status is None:
        messages.error(request, "Choose pause, resume or archive.")
        return redirect("journeys:detail", journey_id=journey_id)
    try:
        info = services.journey_set_status(tenant=ctx.tenant, journey_id=journey_id, actor=ctx.actor, status=status)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"{info.name} is {info.status}.")
    return redirect("journeys:detail", journey_id=journey_id)


@role_required("journeys")
def instance_detail(request: HttpRequest, journey_id: int, instance_id: str) -> HttpResponse:
    info = selectors.journey_get(tenant=request.tenant, journey_id=journey_id)
    instance = selectors.instance_get(tenant=request.tenant, journey_id=journey_id, instance_id=instance_id)
    return render(request, "journeys/instance.html", {"journey": info, "instance": instance,
                                                      "context_text": definition_text(instance.context)})
