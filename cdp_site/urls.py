from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from cdp_site import health
from cdp_site.api import api, redoc_view
from cdp_site.views import not_found, server_error
from console import views as console_views

urlpatterns = [
    path("health", health.health, name="health"),
    path("health/ready", health.ready, name="health-ready"),
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("api/redoc", redoc_view, name="api-redoc"),
    path("api/", api.urls),
    # Unknown API paths answer with a problem document even when DEBUG shows HTML elsewhere.
    re_path(r"^api/", not_found),
    path("admin/login/", console_views.admin_sign_in),  # before admin's own, for its 429
    path("admin/", admin.site.urls),
    path("settings/", include("tenancy.urls")),
    path("operations/", include("operations.urls")),
    path("customers/", include("customers.urls")),
    path("identity/", include("identity.urls")),
    path("segments/", include("segments.urls")),
    path("journeys/", include("journeys.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("messages/", include("messaging.console_urls")),
    path("m/", include("messaging.urls")),  # public: links in messages (signed)
    path("events/", include("tracking.urls")),
    path("", include("console.urls")),
    # Anything else is the product's 404 page (problem details under /api), DEBUG or not.
    re_path(r"^", not_found),
]

handler404 = not_found
handler500 = server_error
