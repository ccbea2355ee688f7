"""Production (Databricks App, container): secrets are mandatory, transport is HTTPS only."""
from cdp_site.env import env
from cdp_site.settings.base import *  # noqa: F401,F403

DEBUG = False
SECRET_KEY = env.mandatory("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. Set it to the host names the app answers on, comma-separated "
        "(on Databricks Apps: .databricksapps.com)."
    )

# TLS ends at the Databricks Apps proxy (or the container's load balancer), which says so here.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("CDP_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^health"]
SECURE_HSTS_SECONDS = env.int("CDP_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
