"""The console shell: sign-in, home, tenant switching, and sections still to come."""
from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from console.access import role_required
from console.dashboard import dashboard
from console.navigation import UPCOMING_SECTIONS
from tenancy.invitations import mail_configured
from tenancy.middleware import SESSION_TENANT_KEY
from tenancy.services import audit_record


class SignInView(auth_views.LoginView):
    template_name = "console/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form):
        return throttled_response(self.request, super().form_invalid(form), form)


THROTTLED_MESSAGE = "Too many sign-in attempts. Wait 15 minutes and try again, or ask an admin to check the audit log."


def throttled_response(request, response, form):
    """A sign-in the throttle refused (tenancy/signin.py) answers 429, saying so, not 'wrong password'."""
    if getattr(request, "cdp_sign_in_throttled", False):
        form.errors.clear()
        form.add_error(None, THROTTLED_MESSAGE)
        response.status_code = 429
    return response


def admin_sign_in(request: HttpRequest) -> HttpResponse:
    """Django admin's sign-in page, answering 429 when the throttle refused it (the throttle itself
    is in the authentication backend, so it applies here without this)."""
    response = admin.site.login(request)
    form = getattr(response, "context_data", {}).get("form") if hasattr(response, "context_data") else None
    if form is not None:
        return throttled_response(request, response, form)
    return response


sign_out = auth_views.LogoutView.as_view()


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """A set-password link (tenancy/invitations.py): choose a password, then you are signed in.
    Django's view moves the token into the session and redirects, so it leaves the address bar
    (and any Referer) at once; a used or expired link says so and what to do."""

    template_name = "console/set_password.html"
    post_reset_login = True
    post_reset_login_backend = "tenancy.signin.ThrottledModelBackend"
    success_url = reverse_lazy("console:home")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set; you are signed in.")
        audit_record(tenant=None, actor=f"user:{form.user.username}", action="auth.password_set", target=form.user.username)
        return response


class ForgotPasswordView(auth_views.PasswordResetView):
    """Mail a set-password link to a member who forgot their password, when the site has mail;
    otherwise say who can make one. It answers the same whether the address is known or not."""

    template_name = "console/forgot_password.html"
    email_template_name = "console/forgot_password_email.txt"
    subject_template_name = "console/forgot_password_subject.txt"
    success_url = reverse_lazy("console:forgot-password-sent")

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "mail": mail_configured()}

    def post(self, request, *args, **kwargs):
        if not mail_configured():
            return self.get(request, *args, **kwargs)
        return super().post(request, *args, **kwargs)


def forgot_password_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "console/forgot_password_sent.html")


@role_required("account")
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "console/home.html", {"board": dashboard(tenant=request.tenant)})


@require_POST
def tenant_switch(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("tenant", "")
    if not request.user.is_authenticated:
        return redirect("console:login")
    if any(t.slug == wanted for t, _ in request.tenant_choices):
        request.session[SESSION_TENANT_KEY] = wanted
        messages.success(request, f"Now working in {wanted}.")
    else:
        messages.error(request, "You have no access to that tenant.")
    # Back to the page the switch was made on, if that is a page of this site: never a URL name
    # (a NoReverseMatch) nor another site (an open redirect).
    wanted_next = request.POST.get("next") or ""
    if wanted_next.startswith("/") and url_has_allowed_host_and_scheme(wanted_next, allowed_hosts={request.get_host()},
                                                                        require_https=request.is_secure()):
        return redirect(_same_page_elsewhere(wanted_next))
    return redirect("console:home")


def _same_page_elsewhere(path: str) -> str:
    """The page to show in the tenant just chosen: the same one, unless it shows one object of the
    old tenant (a profile, a computed trait), which the new one does not have: then its list."""
    parts = [p for p in path.partition("?")[0].split("/") if p]
    first = True
    while parts:
        candidate = "/" + "/".join(parts) + "/"
        try:
            match = resolve(candidate)
        except Resolver404:
            match = None
        if match is not None and set(match.kwargs) <= {"kind", "section"}:  # lists (keys by kind, sections)
            return path if first else candidate
        parts.pop()  # up one level: /customers/computed-traits/5/ -> /customers/computed-traits/
        first = False
    return "/"


@role_required("account")
def section(request: HttpRequest, section: str) -> HttpResponse:
    if section not in UPCOMING_SECTIONS:
        raise Http404(section)
    return render(request, "console/section.html", {"section": section, "blurb": UPCOMING_SECTIONS[section]})
