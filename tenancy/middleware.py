"""Who the console user is (including Databricks Apps identities) and which tenant they are in."""
from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from kernel.timezones import tenant_zone
from tenancy.selectors import tenants_for, user_principal
from tenancy.services import app_user_provision

SESSION_TENANT_KEY = "cdp_tenant"


class DatabricksAppUserMiddleware:
    """Trust X-Forwarded-Email only when running as a Databricks App, whose proxy sets it.

    Anywhere else the headers are ignored: a client could send them itself.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.RUNNING_AS_DATABRICKS_APP:
            email = request.headers.get("X-Forwarded-Email") or request.headers.get("X-Forwarded-Preferred-Username")
            if email and "@" in email:
                request.user = app_user_provision(email=email)
                request.cdp_forwarded_identity = True  # ambient, like a session: tenancy/auth.py checks its writes' origin
        return self.get_response(request)


class ConsoleTenantMiddleware:
    """For signed-in console pages: `request.tenant`, `request.role`, `request.tenant_choices`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant, request.role, request.tenant_choices = None, None, []
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith(("/api/", "/static/", "/health")):
            choices = tenants_for(user_principal(user))
            request.tenant_choices = choices
            wanted = request.session.get(SESSION_TENANT_KEY)
            chosen = next(((t, r) for t, r in choices if t.slug == wanted), choices[0] if choices else None)
            if chosen:
                request.tenant, request.role = chosen
        if request.tenant is None:
            return self.get_response(request)
        # Console pages show times and days in the tenant's zone (the API answers in UTC).
        with timezone.override(tenant_zone(request.tenant)):
            return self.get_response(request)
