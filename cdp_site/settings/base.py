"""Settings shared by every environment. Everything comes through `env`; see README.md for the table."""
from __future__ import annotations

import sys
from pathlib import Path

from cdp_site.database import database_settings
from cdp_site.env import env

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(env.str("CDP_DATA_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env.str("SECRET_KEY", "insecure-local-development-key-change-me-0123456789abcdef")
DEBUG = env.bool("DEBUG", False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])

# Databricks Apps set DATABRICKS_APP_NAME; only then are the X-Forwarded-* identity headers
# trustworthy (the app proxy sets them). Anywhere else a client could forge them.
DATABRICKS_APP_NAME = env.str("DATABRICKS_APP_NAME")
RUNNING_AS_DATABRICKS_APP = bool(DATABRICKS_APP_NAME)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "template_partials",
    "ninja",
    "operations",  # before django_q: its qcluster command wraps django-q's (operations/management/commands/qcluster.py)
    "django_q",
    "cdp_site",
    "tenancy",
    "console",
    "lakehouse",
    "customers",
    "identity",
    "tracking",
    "segments",
    "messaging",
    "journeys",
    "campaigns",
]

MIDDLEWARE = [
    "cdp_site.middleware.RequestIdMiddleware",
    "cdp_site.middleware.RequestLogMiddleware",
    "tracking.cors.TrackingCorsMiddleware",
    "cdp_site.middleware.NulInUrlMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenancy.middleware.DatabricksAppUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "cdp_site.middleware.ApiContentTypeMiddleware",
    "tenancy.middleware.ConsoleTenantMiddleware",
    "console.middleware.ConsoleDomainErrorMiddleware",
]
# Skipped for API calls with a Bearer or Basic Authorization and no cookie (cdp_site/handlers.py):
# they serve browser sessions, static files and console pages only.
CONSOLE_ONLY_MIDDLEWARE = {
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenancy.middleware.DatabricksAppUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenancy.middleware.ConsoleTenantMiddleware",
    "console.middleware.ConsoleDomainErrorMiddleware",
}

# A strict Content-Security-Policy on every console page: scripts, styles, images and requests only
# from this site, no inline script or style, no framing. The console's behaviours come from one
# static script reading data attributes (static/js/console.js), so user text never becomes code.
# The API docs pages (ninja's Swagger UI and ReDoc start themselves with inline scripts) are left
# out until they are served with nonces.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"], "script-src": ["'self'"], "style-src": ["'self'"], "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"], "font-src": ["'self'"], "object-src": ["'none'"], "base-uri": ["'self'"],
        "form-action": ["'self'"], "frame-ancestors": ["'none'"],
    },
}

ROOT_URLCONF = "cdp_site.urls"
WSGI_APPLICATION = "cdp_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "console.context_processors.console",
            ],
            # Human formatting (numbers, money, relative times) in every template without a {% load %}.
            "builtins": ["console.templatetags.console_tags"],
        },
    },
]

DATABASES = {"default": database_settings(env, DATA_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Django's password backend behind the sign-in throttle and audit (tenancy/signin.py), so the
# console's and the admin's sign-in forms are limited alike.
AUTHENTICATION_BACKENDS = ["tenancy.signin.ThrottledModelBackend"]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("CDP_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve straight from the finders too, so a laptop needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # JavaScript libraries come from the npm registry (package.json), never from a CDN.
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Request bodies: ingestion enforces Segment's own limits; this is the outer bound.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("CDP_MAX_BODY_BYTES", 5 * 1024 * 1024)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Customer data -------------------------------------------------------------------------
CDP_LAKEHOUSE = env.str("CDP_LAKEHOUSE", "default")
# catalog.schema that segment exports are written to (Databricks and Spark engines); empty: the
# lakehouse schema's name + "_exports" in its catalog.
CDP_SEGMENT_EXPORT_SCHEMA = env.str("CDP_SEGMENT_EXPORT_SCHEMA", "")

# --- Messaging -----------------------------------------------------------------------------------
# Fernet keys (comma separated, the first encrypting) for channel secrets; unset: derived from SECRET_KEY.
CDP_SECRETS_KEY = env.str("CDP_SECRETS_KEY", "")
# Webhooks to private, loopback and link-local addresses (after DNS resolution) are refused unless this is set.
CDP_WEBHOOK_ALLOW_PRIVATE = env.bool("CDP_WEBHOOK_ALLOW_PRIVATE", False)
# The address people reach the product at, for links in messages (unsubscribe).
CDP_PUBLIC_URL = env.str("CDP_PUBLIC_URL", "http://localhost:8000")
# Where email channels with the `file` backend write (make run's demo channel), read by the console's Mailbox.
CDP_MAILBOX_DIR = env.str("CDP_MAILBOX_DIR", str(DATA_DIR / "mailbox"))
# Sends a drain pass has in flight at once (threads doing network only; 1: one after another).
CDP_DELIVERY_CONCURRENCY = env.int("CDP_DELIVERY_CONCURRENCY", 8)
# How long the every-minute drain keeps passing (sends within seconds of queueing); 0: one pass.
CDP_DRAIN_LOOP_SECONDS = env.int("CDP_DRAIN_LOOP_SECONDS", 50)

# --- Authentication --------------------------------------------------------------------------
CDP_JWT_HS256_SECRET = env.str("CDP_JWT_HS256_SECRET")
CDP_JWT_PUBLIC_KEY = env.str("CDP_JWT_PUBLIC_KEY")
CDP_JWT_JWKS_URL = env.str("CDP_JWT_JWKS_URL")
CDP_JWT_AUDIENCE = env.str("CDP_JWT_AUDIENCE", "cdp")
CDP_JWT_ISSUER = env.str("CDP_JWT_ISSUER")
CDP_JWT_TENANT_CLAIM = env.str("CDP_JWT_TENANT_CLAIM", "tenants")
CDP_APP_USER_DEFAULT_TENANT = env.str("CDP_APP_USER_DEFAULT_TENANT")
CDP_APP_USER_DEFAULT_ROLE = env.str("CDP_APP_USER_DEFAULT_ROLE", "viewer")
CDP_API_RATE_LIMIT_PER_MINUTE = env.int("CDP_API_RATE_LIMIT_PER_MINUTE", 6000)
CDP_INGEST_RATE_LIMIT_PER_SECOND = env.int("CDP_INGEST_RATE_LIMIT_PER_SECOND", 1000)
CDP_LOGIN_ATTEMPTS_PER_15_MINUTES = env.int("CDP_LOGIN_ATTEMPTS_PER_15_MINUTES", 10)
# The header a trusted reverse proxy puts the client's address in (kernel/clients.py); empty:
# REMOTE_ADDR. Databricks Apps' proxy sets X-Real-Ip, and nothing reaches an app around it.
CDP_CLIENT_ADDRESS_HEADER = env.str("CDP_CLIENT_ADDRESS_HEADER", "X-Real-Ip" if RUNNING_AS_DATABRICKS_APP else "")

# --- Mail: set-password links for invited members and password resets ----------------------
# Without CDP_EMAIL_HOST the product sends no mail: an admin copies an invited member's link from
# the Members page instead. Links work once and expire after CDP_SET_PASSWORD_LINK_DAYS.
EMAIL_HOST = env.str("CDP_EMAIL_HOST", "")
EMAIL_PORT = env.int("CDP_EMAIL_PORT", 587)
EMAIL_HOST_USER = env.str("CDP_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env.str("CDP_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env.bool("CDP_EMAIL_STARTTLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("CDP_EMAIL_FROM", "CDP <cdp@localhost>")
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.dummy.EmailBackend"
PASSWORD_RESET_TIMEOUT = env.int("CDP_SET_PASSWORD_LINK_DAYS", 3) * 24 * 3600

# --- Scheduler (django-q2, ORM broker: no extra server) ------------------------------------
# "scheduler": django-q2 ticks the journey orchestrator; "job": a Databricks job does (the bundle's).
CDP_ORCHESTRATOR_RUNS_IN = env.str("CDP_ORCHESTRATOR_RUNS_IN", "scheduler")
# Run queued tasks (rebuilds, computed-trait refreshes) inside the request instead of on qcluster:
# for the test suite; in production the request answers 202 and a worker does the work.
CDP_TASKS_INLINE = env.bool("CDP_TASKS_INLINE", False)
Q_CLUSTER = {
    "name": "cdp",
    "orm": "default",
    "workers": env.int("CDP_Q_WORKERS", 2),
    "timeout": env.int("CDP_Q_TIMEOUT_SECONDS", 600),
    "retry": env.int("CDP_Q_TIMEOUT_SECONDS", 600) + 60,
    "max_attempts": 3,
    "save_limit": 500,
    "catch_up": False,
    "poll": 1,
    "label": "Scheduler",
}

# --- Logging: one JSON line per request, secrets scrubbed ----------------------------------
# auto: plain text lines when standard error is a terminal (a person running a command), JSON
# otherwise (the app, jobs, anything a log collector reads).
CDP_LOG_FORMAT = env.str("CDP_LOG_FORMAT", "auto")
_LOG_FORMATTER = CDP_LOG_FORMAT if CDP_LOG_FORMAT in ("json", "text") else ("text" if sys.stderr.isatty() else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "cdp_site.logging.RedactSecretsFilter"}},
    "formatters": {
        "json": {"()": "cdp_site.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": _LOG_FORMATTER,
            "stream": "ext://sys.stderr",
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("CDP_LOG_LEVEL", "INFO")},
    "loggers": {
        # The request log replaces Django's own per-request lines.
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        "py4j": {"level": "WARNING"},
    },
}
