"""The console's campaigns: the list with approval requests, the editor (a form, with the
audience's reachable count and sample messages live as it is filled in), a campaign's page with
its actions, a progress widget while it sends (polling, replaced in place) and the report with a
chart and a table."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from campaigns import report, selectors
from campaigns.forms import ApprovalRuleForm, CampaignForm, initial_from
from campaigns.services import campaigns as services
from campaigns.services.test_sends import campaign_test_send
from console.access import console_context, offset_param, role_required
from identity.selectors import customer_named
from kernel.charts import bar_chart
from kernel.errors import DomainError, PermissionDenied
from messaging.selectors import channel_list, template_list
from segments.selectors import segment_list
from tenancy.roles import area_role, role_allows

PAGE_SIZE = 50
ACTIONS = {"schedule": services.campaign_schedule, "approve": services.campaign_approve, "pause": services.campaign_pause,
           "resume": services.campaign_resume, "cancel": services.campaign_cancel}
DONE = {"schedule": "is scheduled (or waiting for approval, as its page says)", "approve": "is approved and scheduled",
        "pause": "is paused: nothing more goes, what was queued is held", "resume": "is sending again", "cancel": "is cancelled"}


def _form(request: HttpRequest, data=None, initial=None) -> CampaignForm:
    return CampaignForm(data, initial=initial, segments=segment_list(tenant=request.tenant, limit=500, offset=0).items,
                        channels=channel_list(tenant=request.tenant), templates=template_list(tenant=request.tenant))


def _form_errors(form: CampaignForm, exc: DomainError) -> None:
    for error in exc.errors or [{"field": "", "message": exc.detail}]:
        form.add_error(None, f"{error.get('field', '').removeprefix('definition.') or 'campaign'}: {error['message']}")


@role_required("campaigns")
def campaign_list(request: HttpRequest, rule_form: ApprovalRuleForm | None = None, status: int = 200) -> HttpResponse:
    page = selectors.campaign_list(tenant=request.tenant, limit=PAGE_SIZE, offset=offset_param(request))
    threshold = services.policy_get(tenant=request.tenant).approval_threshold
    rule_form = rule_form or ApprovalRuleForm(initial={"approval_threshold": threshold})
    return render(request, "campaigns/list.html", {"page": page, "awaiting": selectors.approval_requests(tenant=request.tenant),
                                                   "threshold": threshold, "rule_form": rule_form}, status=status)


@require_POST
@role_required("campaign-approvals")
def approval_rule(request: HttpRequest) -> HttpResponse:
    """The tenant's approval threshold (admins): above it a campaign needs a second admin."""
    form = ApprovalRuleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The threshold was not changed: " + "; ".join(e for errors in form.errors.values() for e in errors))
        return campaign_list(request, rule_form=form, status=422)
    ctx = console_context(request)
    try:
        services.policy_set(tenant=ctx.tenant, actor=ctx.actor, approval_threshold=form.cleaned_data["approval_threshold"])
    except DomainError as exc:
        messages.error(request, exc.detail)
        return campaign_list(request, rule_form=form, status=422)
    messages.success(request, f"Campaigns reaching more than {form.cleaned_data['approval_threshold']:,} customers, or every customer, "
                              "now need a second admin's approval.")
    return redirect("campaigns:list")


@role_required("campaigns")
def campaign_new(request: HttpRequest) -> HttpResponse:
    form = _form(request, request.POST or None, initial={"holdout_percent": 5, "schedule": "now", "category": "marketing"})
    if request.method == "POST" and form.is_valid():
        ctx = console_context(request)
        try:
            info = services.campaign_create(tenant=ctx.tenant, actor=ctx.actor, name=form.cleaned_data["name"],
                                            description=form.cleaned_data["description"], definition=form.definition())
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{info.name} is saved as a draft; schedule it when it is ready.")
            return redirect("campaigns:detail", campaign_id=info.id)
    return render(request, "campaigns/form.html", {"form": form, "campaign": None}, status=422 if form.errors else 200)


@role_required("campaigns")
def campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    info = selectors.campaign_get(tenant=request.tenant, campaign_id=campaign_id)
    form = _form(request, request.POST or None, initial=initial_from(info.definition, name=info.name, description=info.description))
    if request.method == "POST" and form.is_valid():
        ctx = console_context(request)
        try:
            services.campaign_update(tenant=ctx.tenant, campaign_id=campaign_id, actor=ctx.actor, changes={
                "name": form.cleaned_data["name"], "description": form.cleaned_data["description"], "definition": form.definition()})
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['name']} is saved.")
            return redirect("campaigns:detail", campaign_id=campaign_id)
    return render(request, "campaigns/form.html", {"form": form, "campaign": info}, status=422 if form.errors else 200)


@require_POST
@role_required("campaigns")
def campaign_reach(request: HttpRequest) -> HttpResponse:
    """The editor's live panel: who the form's audience reaches and sample messages, or what to fix."""
    if not all(request.POST.get(name) for name in ("segments", "channel_id", "variant_1_template")):
        # A form just opened, or not filled in that far: say what it needs, not a list of errors.
        return render(request, "campaigns/_reach.html", {"preview": None, "problems": [], "waiting": True})
    form = _form(request, request.POST)
    preview, problems = None, []
    who = request.POST.get("preview_for", "").strip()[:320]  # the panel's own box: any identifier of a customer
    cdp_id = customer_named(tenant=request.tenant, who=who) if who else ""
    if form.is_valid():
        try:
            preview = services.campaign_preview(tenant=request.tenant, definition=form.definition(), cdp_id=cdp_id)
        except DomainError as exc:
            problems = exc.errors or [{"field": "", "message": exc.detail}]
    else:
        problems = [{"field": name, "message": " ".join(errors)} for name, errors in form.errors.items()]
    note = _group_note(preview["for_customer"]["group"]) if preview and preview["for_customer"] else ""
    return render(request, "campaigns/_reach.html", {"preview": preview, "problems": problems, "who": who, "note": note,
                                                     "unknown": bool(who) and not cdp_id})


UNSENT_NOTES = {"holdout": "held out (the report measures the lift against them)", "control": "in the tenant's global control group",
                "duplicate": "sharing an address with another recipient, who gets the message", "no_address": "without an address",
                "no_consent": "without consent to the topic now"}


def _group_note(group: str | None) -> str:
    """What the send would do with the customer the editor previews for."""
    if group is None:
        return "Not in this audience: shown as they would see it, were they."
    if group in UNSENT_NOTES:
        return f"In the audience, but {UNSENT_NOTES[group]}: nothing is sent to them."
    if group == "":
        return "In the audience, after the test share: gets the winning variant."
    return f"In the audience: gets variant {group}."


@role_required("campaigns")
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    info = selectors.campaign_get(tenant=request.tenant, campaign_id=campaign_id)
    sending = info.status in ("scheduled", "running")
    if request.GET.get("part") == "progress":
        return render(request, "campaigns/_progress.html", {"campaign": info, "sending": sending})
    results = report.campaign_report(tenant=request.tenant, campaign_id=campaign_id)
    measured = [g for g in results["groups"] if g["conversion_rate"] is not None and g["group"] not in ("duplicate", "no_address")]
    chart = bar_chart([(g["group"], round(g["conversion_rate"] * 100, 2)) for g in measured], title="Conversion rate by group",
                      unit="percent", category="Group") if results["goal"] and measured else None
    can_approve = role_allows(request.role, area_role("campaign-approvals", write=True)) and info.status == "awaiting_approval"
    return render(request, "campaigns/detail.html", {"campaign": info, "results": results, "chart": chart, "sending": sending,
                                                     "can_approve": can_approve})


@require_POST
@role_required("campaigns")
def campaign_action(request: HttpRequest, campaign_id: int) -> HttpResponse:
    ctx = console_context(request)
    action = request.POST.get("action", "")
    try:
        if action == "duplicate":
            copy = services.campaign_duplicate(tenant=ctx.tenant, campaign_id=campaign_id, actor=ctx.actor)
            messages.success(request, f"{copy.name} is a draft copy: change it, then schedule it.")
            return redirect("campaigns:detail", campaign_id=copy.id)
        if action == "test":
            sent = campaign_test_send(tenant=ctx.tenant, campaign_id=campaign_id, actor=ctx.actor,
                                      addresses=[a for a in request.POST.get("addresses", "").replace(",", "\n").splitlines() if a.strip()][:20],
                                      customers=[])
            messages.success(request, f"{len(sent)} test messages are on their way (every variant to each address).")
            return redirect("campaigns:detail", campaign_id=campaign_id)
        if action not in ACTIONS:
            messages.error(request, "Choose schedule, approve, pause, resume, cancel, duplicate or a test send.")
            return redirect("campaigns:detail", campaign_id=campaign_id)
        need = area_role("campaign-approvals", write=True)
        if action == "approve" and not role_allows(ctx.role, need):
            raise PermissionDenied(f"Approving a campaign needs the {need} role; you are {ctx.role}.")
        info = ACTIONS[action](tenant=ctx.tenant, campaign_id=campaign_id, actor=ctx.actor)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"{info.name} {DONE[action]}.")
    return redirect("campaigns:detail", campaign_id=campaign_id)
