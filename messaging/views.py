"""Messaging's pages: the public ones reached from messages (no sign-in; the signed token is the
authority), and the console's (deliveries, templates with a live preview, channels, the mailbox)."""
from __future__ import annotations

import hmac
import json

from anymail.exceptions import AnymailWebhookValidationFailure
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from console.access import console_context, first_error, offset_param, role_required
from customers.selectors import customer_get
from identity.selectors import customer_named
from kernel.errors import DomainError, NotFound
from kernel.problems import problem_response
from messaging import engagement, selectors
from messaging.channels.sms import sms_segments, twilio_signature
from messaging.context import message_context, render_parts
from messaging.forms import CHANNEL_FORMS, ChannelTestForm, SendPolicyForm, TemplateNewForm, TopicForm
from messaging.liquid import RenderError
from messaging.mailbox import mailbox_messages
from messaging.models import Delivery
from messaging.services import channels as channel_services
from messaging.services import feedback, policies, templates
from messaging.services import topics as topics_service
from messaging.services.drain import PENDING, test_send
from messaging.services.links import preferences_read, unsubscribe_read
from messaging.services.topics import preferences_set, topic_choices, unsubscribe
from tenancy.selectors import tenants_by_id


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no session or token of ours
def unsubscribe_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks to confirm (mail scanners follow links; they must not unsubscribe anyone); POST
    unsubscribes, from the page's button or a mail client's one-click request."""
    keys = unsubscribe_read(token)
    if keys is None:
        return render(request, "messaging/unsubscribe.html", {"state": "invalid"}, status=400)
    if request.method == "POST":
        tenant = tenants_by_id({keys["t"]}).get(keys["t"])
        if tenant is None:
            return render(request, "messaging/unsubscribe.html", {"state": "invalid"}, status=400)
        try:
            unsubscribe(tenant=tenant, cdp_id=keys["c"], kind=keys["k"], topic=keys["p"])
        except NotFound:
            pass  # erased since: there is nobody left to write to
        return render(request, "messaging/unsubscribe.html", {"state": "done", "topic": keys["p"]})
    return render(request, "messaging/unsubscribe.html", {"state": "confirm", "topic": keys["p"]})


@csrf_exempt  # the signed link is the authority (no session); a page from another site cannot know it
def preference_page(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's own page (a signed link in every marketing message, no sign-in): each topic
    with a box, saved as consent decisions. GET only shows; POST saves."""
    keys = preferences_read(token)
    tenant = tenants_by_id({keys["t"]}).get(keys["t"]) if keys else None
    if tenant is None:
        return render(request, "messaging/unsubscribe.html", {"state": "invalid"}, status=400)
    try:
        profile = customer_get(tenant=tenant, cdp_id=keys["c"])
    except NotFound:
        return render(request, "messaging/unsubscribe.html", {"state": "invalid"}, status=400)
    saved = None
    if request.method == "POST":
        receive = {int(v) for v in request.POST.getlist("topic") if v.isdigit()}
        saved = preferences_set(tenant=tenant, profile=profile, receive=receive)
        profile = customer_get(tenant=tenant, cdp_id=keys["c"])
    return render(request, "messaging/preferences.html", {"choices": topic_choices(tenant=tenant, profile=profile), "saved": saved,
                                                          "tenant_name": tenant.name})


def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """The 1x1 image at the end of a tracked email: the message was opened (a forged token still
    gets the image, and nothing is recorded)."""
    keys = engagement.token_read(token)
    if keys is not None and "u" not in keys:
        feedback.link_followed(keys["d"], at=timezone.now())
    response = HttpResponse(engagement.PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store, max-age=0"
    return response


def click_redirect(request: HttpRequest, token: str) -> HttpResponse:
    """A tracked link: recorded, then on to its target. Only a target signed into the token is
    ever redirected to, so the link cannot be turned into an open redirect."""
    keys = engagement.token_read(token)
    if keys is None or not isinstance(keys.get("u"), str) or not keys["u"].lower().startswith(("http://", "https://")):
        return render(request, "messaging/unsubscribe.html", {"state": "invalid"}, status=404)
    feedback.link_followed(keys["d"], at=timezone.now(), url=keys["u"])
    response = HttpResponseRedirect(keys["u"])
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@csrf_exempt  # providers post with their own credentials (basic auth, Twilio's signature), never a session
@require_POST
def provider_feedback(request: HttpRequest, channel_id: int) -> HttpResponse:
    """A provider's delivery events for one channel: anymail's tracking webhook of the email
    channel's provider (basic auth with the channel's feedback credentials), or Twilio's status
    callback for an SMS channel (its X-Twilio-Signature)."""
    channel = selectors.channel_by_id(channel_id)
    if channel is None or not selectors.feedback_url(channel):
        return problem_response(request, status=404, title="No such feedback endpoint", detail="This channel takes no delivery events.")
    if channel.kind == "sms":
        return sms_status_callback(request, channel)
    view_class = feedback.anymail_webhook_view(channel.config.get("backend", ""))
    if view_class is None:
        return problem_response(request, status=404, title="No such feedback endpoint", detail="This channel's provider has no delivery-event webhook.")
    credentials = channel_services.feedback_credentials(channel)
    if not credentials:  # a channel made before feedback existed: rotating makes its credentials
        return problem_response(request, status=401, title="Not authenticated",
                                detail="This channel has no feedback credentials yet: rotate it (POST .../channels/{id}/rotate) to make them.")
    try:
        view = view_class(**channel_services.feedback_view_options(channel))
        view.run_validators(request)
        events = view.parse_events(request)
    except AnymailWebhookValidationFailure:
        return problem_response(request, status=401, title="Not authenticated", detail="Call with the channel's feedback credentials (basic auth).")
    except ImproperlyConfigured as exc:
        return problem_response(request, status=400, title="Feedback not set up", detail=(
            f"{exc} Give the channel the provider's webhook signing key (Event signing key on its console page, feedback_signing_key in the API)."))
    except (ValueError, KeyError, TypeError) as exc:
        return problem_response(request, status=400, title="Unreadable events", detail=f"The provider's events could not be read: {type(exc).__name__}.")
    feedback.anymail_events_record(channel, events, provider=view.esp_name)
    return HttpResponse(status=200)


def sms_status_callback(request: HttpRequest, channel) -> HttpResponse:
    """Twilio's status callback, signed over the URL it was given (the channel's feedback URL, not
    this request's, which a proxy may have rewritten) and the form's parameters."""
    params = {k: request.POST.get(k, "") for k in request.POST}
    given = request.headers.get("X-Twilio-Signature", "")
    url = selectors.feedback_url(channel)
    secrets = channel_services.channel_secrets(channel, timezone.now())
    if not given or not any(hmac.compare_digest(twilio_signature(s, url, params), given) for s in secrets):
        return problem_response(request, status=401, title="Not authenticated",
                                detail="The X-Twilio-Signature does not verify with the channel's auth token.")
    feedback.sms_status_record(channel, params)
    return HttpResponse(status=204)


# --- the console: deliveries, templates, channels, the local mailbox ------------------------------

PAGE_SIZE = 50


@role_required("messaging")
def delivery_list(request: HttpRequest) -> HttpResponse:
    status, channel = request.GET.get("status", ""), request.GET.get("channel", "")
    who = (request.GET.get("customer") or "").replace("\x00", "").strip()[:300]
    cdp_id = _customer_id(request, who) if who else ""
    page = selectors.delivery_page(tenant=request.tenant, limit=PAGE_SIZE, offset=offset_param(request), cdp_id=cdp_id or "",
                                   status=status, channel_id=int(channel) if channel.isdigit() else None)
    if who and not cdp_id:
        messages.error(request, f"No customer {who} here: give a cdp id, a user id or an email address.")
    names = _channel_names(request)
    return render(request, "messaging/deliveries.html", {
        "page": page, "rows": [(d, names.get(d.channel_id, d.channel_id)) for d in page.items], "status": status, "channel": channel, "customer": who, "statuses": [s for s, _ in Delivery.STATUSES],
        "channels": selectors.channel_list(tenant=request.tenant), "tab": "deliveries"})


@role_required("messaging")
def delivery_detail(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = selectors.delivery_get(tenant=request.tenant, delivery_id=delivery_id)
    template = selectors.template_get(tenant=request.tenant, template_id=delivery.template_id, version=delivery.template_version)
    return render(request, "messaging/delivery.html", {"d": delivery, "template": template, "pending": delivery.status in PENDING,
                                                       "channel_name": _channel_names(request).get(delivery.channel_id, delivery.channel_id),
                                                       "response": json.dumps(delivery.response, indent=2, default=str)})


@role_required("messaging")
def customer_card(request: HttpRequest, cdp_id: str) -> HttpResponse:
    """The profile's card (loaded by the page): the customer's latest messages, whether they
    receive each topic, and any of their addresses that is suppressed."""
    try:
        profile = customer_get(tenant=request.tenant, cdp_id=cdp_id)
    except NotFound:
        return HttpResponse("No such customer.", status=404, content_type="text/plain")
    page = selectors.delivery_page(tenant=request.tenant, limit=10, offset=0, cdp_id=profile.cdp_id)
    channel_names = _channel_names(request)
    template_names = {t.id: t.name for t in selectors.template_list(tenant=request.tenant)}
    return render(request, "messaging/customer.html", {
        "cdp_id": profile.cdp_id, "deliveries": page, "topics": topic_choices(tenant=request.tenant, profile=profile),
        "rows": [(d, template_names.get(d.template_id, d.template_id), channel_names.get(d.channel_id, d.channel_id)) for d in page.items],
        "suppressed": selectors.suppressions_of(tenant=request.tenant, identities=[(i.type, i.value) for i in profile.identities])})


@role_required("messaging")
def template_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        ctx = console_context(request)
        form = TemplateNewForm(request.POST)
        if not form.is_valid():
            messages.error(request, f"The template was not made: {first_error(form)}")
            return redirect("messages:templates")
        kind = form.cleaned_data["channel_kind"]
        starter = {"email": {"subject": "Hello {{ customer.first_name }}", "html": "<p>Hello {{ customer.first_name | default: 'there' }},</p>"},
                   "webhook": {"body": '{"customer": "{{ customer.cdp_id }}"}'},
                   "sms": {"text": "Hi {{ customer.first_name | default: 'there' }}, "},
                   "table": {"payload": '{"email": {{ customer.email | json }}}'}}.get(kind, {})
        try:
            info = templates.template_create(tenant=ctx.tenant, name=form.cleaned_data["name"], channel_kind=kind, parts=starter,
                                             actor=ctx.actor)
        except DomainError as exc:
            messages.error(request, exc.detail)
            return redirect("messages:templates")
        return redirect("messages:template", template_id=info.id)
    return render(request, "messaging/templates.html", {"templates": selectors.template_list(tenant=request.tenant)})


def _template_parts(kind: str, post) -> dict:
    from messaging.channels import backend_for

    parts = {}
    for name in backend_for(kind).features.parts:
        value = post.get(f"part_{name}", "").replace("\x00", "")  # the database keeps no NUL characters
        if name == "headers":
            try:
                value = json.loads(value) if value.strip() else {}
            except ValueError:
                value = {}
        if value:
            parts[name] = value
    return parts


@role_required("messaging")
def template_detail(request: HttpRequest, template_id: int) -> HttpResponse:
    template = selectors.template_get(tenant=request.tenant, template_id=template_id)
    errors: list[dict] = []
    if request.method == "POST":
        ctx = console_context(request)
        try:
            template = templates.template_update(tenant=ctx.tenant, template_id=template_id, actor=ctx.actor,
                                                 parts=_template_parts(template.channel_kind, request.POST))
            messages.success(request, f"Saved as version {template.version}.")
            return redirect("messages:template", template_id=template_id)
        except DomainError as exc:
            errors = exc.errors
            messages.error(request, exc.detail)
    return render(request, "messaging/template.html", _template_context(request, template, errors))


def _template_context(request, template, errors) -> dict:
    from messaging.channels import backend_for

    features = backend_for(template.channel_kind).features
    posted = request.POST if request.method == "POST" else None
    fields = []
    for name in features.parts:
        value = posted.get(f"part_{name}", "") if posted else template.parts.get(name, "")
        if isinstance(value, dict):
            value = json.dumps(value, indent=2)
        fields.append({"name": name, "value": value, "html": name in features.html_parts,
                       "error": next((e["message"] for e in errors if e["field"] == f"parts.{name}"), "")})
    channels = [c for c in selectors.channel_list(tenant=request.tenant) if c.kind == template.channel_kind]
    return {"template": template, "fields": fields, "channels": channels,
            "versions": selectors.template_versions(tenant=request.tenant, template_id=template.id)[:10]}


def _customer_id(request, who: str) -> str:
    return customer_named(tenant=request.tenant, who=who)


@require_POST
@role_required("messaging")
def template_preview(request: HttpRequest, template_id: int) -> HttpResponse:
    """The parts being edited, rendered for a real customer (HTMX, as you type)."""
    template = selectors.template_get(tenant=request.tenant, template_id=template_id)
    who = (request.POST.get("customer") or "").replace("\x00", "").strip()[:300]
    context = {"who": who}
    if not who:
        context["error"] = "Name a customer (email, user id or cdp id) to see the message as they would."
        if not request.htmx:
            return render(request, "messaging/template.html", {**_template_context(request, template, []), "preview": context})
        return render(request, "messaging/preview.html", context)
    cdp_id = _customer_id(request, who)
    try:
        profile = customer_get(tenant=request.tenant, cdp_id=cdp_id)
        context["parts"] = render_parts(template.channel_kind, _template_parts(template.channel_kind, request.POST),
                                        message_context(profile, {}, unsubscribe_url="#unsubscribe", preferences_url="#preferences"))
        context["cdp_id"] = profile.cdp_id
        if template.channel_kind == "sms":
            context["sms"] = sms_segments(context["parts"].get("text", ""))
    except DomainError:
        context["error"] = f"No customer {who} here."
    except RenderError as exc:
        context["error"] = f"{exc.part}, line {exc.line}: {exc.message}"
    if not request.htmx:  # the Preview button without JavaScript: the whole page, the preview filled in
        return render(request, "messaging/template.html", {**_template_context(request, template, []), "preview": context})
    return render(request, "messaging/preview.html", context)


@require_POST
@role_required("messaging")
def template_test_send(request: HttpRequest, template_id: int) -> HttpResponse:
    who = (request.POST.get("customer") or "").replace("\x00", "").strip()[:300]
    channel = request.POST.get("channel", "")
    if not who or not channel.isdigit():
        messages.error(request, "Choose a channel and name a customer to send the test to.")
        return redirect("messages:template", template_id=template_id)
    return _test_send(request, channel_id=int(channel), template_id=template_id, who=who,
                      back=redirect("messages:template", template_id=template_id))


def _test_send(request: HttpRequest, *, channel_id: int, template_id: int, who: str, back: HttpResponse) -> HttpResponse:
    """One test send from the console, then its page (which follows it until it is final)."""
    ctx = console_context(request)
    cdp_id = _customer_id(request, who.replace("\x00", "").strip())
    if not cdp_id:
        messages.error(request, f"No customer {who} here: give a cdp id, a user id or an email address.")
        return back
    try:
        delivery_id = test_send(tenant=ctx.tenant, channel_id=channel_id, template_id=template_id, cdp_id=cdp_id, actor=ctx.actor)
    except DomainError as exc:
        messages.error(request, exc.detail)
        return back
    row = selectors.delivery_get(tenant=ctx.tenant, delivery_id=delivery_id)
    if row.status in PENDING:  # on a worker: the message's page follows it until it is final
        messages.info(request, "Test queued: this page follows it until it is sent.")
    else:
        (messages.success if row.status == "sent" else messages.error)(request, f"Test {row.status}{': ' + row.reason if row.reason else ''}.")
    return redirect("messages:delivery", delivery_id=delivery_id)


@role_required("channels")
def channel_list(request: HttpRequest) -> HttpResponse:
    """Channels, and a form for each kind to add one (admins)."""
    shown, forms_by_kind = None, {kind: form() for kind, form in CHANNEL_FORMS.items()}
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        form_class = CHANNEL_FORMS.get(kind)
        form = form_class(request.POST) if form_class else None
        if form is None:
            messages.error(request, "Choose the kind of channel to add.")
        elif not form.is_valid():
            messages.error(request, f"The {kind} channel was not added: {first_error(form)}")
            forms_by_kind[kind] = form
        else:
            ctx = console_context(request)
            try:
                shown = channel_services.channel_create(tenant=ctx.tenant, name=form.cleaned_data["name"], kind=kind, config=form.config(),
                                                        secret=form.cleaned_data["secret"], actor=ctx.actor,
                                                        rate_per_second=form.cleaned_data["rate_per_second"] or 0,
                                                        endpoint_rate_per_second=form.cleaned_data["endpoint_rate_per_second"] or 0,
                                                        feedback_signing_key=form.cleaned_data.get("feedback_signing_key", ""))
                messages.success(request, f"Channel {shown.name} added.")
            except DomainError as exc:
                messages.error(request, exc.detail)
                forms_by_kind[kind] = form
    channels = selectors.channel_list(tenant=request.tenant)
    by_kind: dict[str, list] = {}
    for template in selectors.template_list(tenant=request.tenant):
        by_kind.setdefault(template.channel_kind, []).append(template)
    return render(request, "messaging/channels.html", {"channels": [(c, by_kind.get(c.kind, [])) for c in channels], "shown": shown,
                                                       "forms": forms_by_kind, "open_kind": request.POST.get("kind") if shown is None else ""})


@role_required("channels")
def channel_edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    """One channel: its settings in its kind's form (secrets never shown back: an empty box keeps
    them), rotating its secret (shown once), turning it back on after it was disabled."""
    channel = selectors.channel_get(tenant=request.tenant, channel_id=channel_id)
    form_class = CHANNEL_FORMS[channel.kind]
    form, shown, status = form_class.for_channel(channel), None, 200
    if request.method == "POST":
        ctx = console_context(request)
        action = request.POST.get("action", "save")
        try:
            if action == "rotate":
                shown = channel_services.channel_rotate(tenant=ctx.tenant, channel_id=channel_id, actor=ctx.actor)
                messages.success(request, "New credentials made: copy them now, they are not shown again.")
            elif action == "enable":
                channel_services.channel_update(tenant=ctx.tenant, channel_id=channel_id, actor=ctx.actor, changes={"enabled": True})
                messages.success(request, f"{channel.name} sends again.")
                return redirect("messages:channel", channel_id=channel_id)
            else:
                form = form_class.for_channel(channel, request.POST)
                if form.is_valid():
                    channel_services.channel_update(tenant=ctx.tenant, channel_id=channel_id, actor=ctx.actor, changes=form.changes())
                    messages.success(request, "Saved: the next message through it uses these settings.")
                    return redirect("messages:channel", channel_id=channel_id)
                messages.error(request, f"Not saved: {first_error(form)}")
                status = 422
        except DomainError as exc:
            messages.error(request, exc.detail)
            status = 422 if action == "save" else 200
        channel = selectors.channel_get(tenant=request.tenant, channel_id=channel_id)
    return render(request, "messaging/channel.html", {"channel": channel, "form": form, "shown": shown}, status=status)


@require_POST
@role_required("messaging")
def channel_test_send(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Send a test through a channel: a template of its kind to a named customer (a task; the
    message's page follows it)."""
    form = ChannelTestForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Choose a template and name a customer: {first_error(form)}")
        return redirect("messages:channels")
    return _test_send(request, channel_id=channel_id, template_id=form.cleaned_data["template"], who=form.cleaned_data["customer"],
                      back=redirect("messages:channels"))


@role_required("channels")
def mailbox(request: HttpRequest) -> HttpResponse:
    to = (request.GET.get("to") or "").replace("\x00", "").strip()[:300]
    return render(request, "messaging/mailbox.html", {"mail": mailbox_messages(to=to), "to": to})


def _channel_names(request) -> dict[int, str]:
    return {c.id: c.name for c in selectors.channel_list(tenant=request.tenant)}


@role_required("messaging")
def topic_list(request: HttpRequest) -> HttpResponse:
    """Subscription topics: the list, and a form to add one (editors)."""
    form = TopicForm(request.POST) if request.method == "POST" else TopicForm()
    if request.method == "POST":
        if not form.is_valid():
            messages.error(request, f"The topic was not added: {first_error(form)}")
        else:
            ctx = console_context(request)
            try:
                topic = topics_service.topic_create(tenant=ctx.tenant, key=form.cleaned_data["key"], name=form.cleaned_data["name"],
                                                    channel_kind=form.cleaned_data["channel_kind"], policy=form.cleaned_data["policy"],
                                                    actor=ctx.actor)
                messages.success(request, f"Topic {topic.name} added.")
                return redirect("messages:topics")
            except DomainError as exc:
                messages.error(request, exc.detail)
    return render(request, "messaging/topics.html", {"topics": selectors.topic_list(tenant=request.tenant), "form": form})


@role_required("messaging")
def sending_rules(request: HttpRequest) -> HttpResponse:
    """Frequency caps, quiet hours and the global control group (what the API's /messaging/policy
    sets), as a form; a refusal says what to change and keeps what was typed."""
    policy = policies.policy_get(tenant=request.tenant)
    form = SendPolicyForm.of(policy, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            ctx = console_context(request)
            data = form.cleaned_data
            try:
                policies.policy_set(tenant=ctx.tenant, actor=ctx.actor, caps=form.caps(), quiet_days=data["quiet_days"],
                                    quiet_start=data["quiet_start"].strftime("%H:%M") if data["quiet_start"] else None,
                                    quiet_end=data["quiet_end"].strftime("%H:%M") if data["quiet_end"] else None,
                                    quiet_policy=data["quiet_policy"], control_percent=data["control_percent"])
            except DomainError as exc:
                messages.error(request, f"The rules were not saved: {exc.detail}")
            else:
                messages.success(request, "Sending rules saved: they apply to every marketing message from now on.")
                return redirect("messages:rules")
        else:
            messages.error(request, f"The rules were not saved: {first_error(form)}")
    return render(request, "messaging/rules.html", {"form": form, "policy": policy}, status=422 if request.method == "POST" else 200)


@require_POST
@role_required("messaging")
def topic_delete(request: HttpRequest, topic_id: int) -> HttpResponse:
    ctx = console_context(request)
    try:
        topics_service.topic_delete(tenant=ctx.tenant, topic_id=topic_id, actor=ctx.actor)
        messages.success(request, "Topic deleted: marketing messages naming it are skipped from now on.")
    except DomainError as exc:
        messages.error(request, exc.detail)
    return redirect("messages:topics")
