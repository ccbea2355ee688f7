"""The test suite's settings: local defaults with fast password hashing."""
from cdp_site.settings.base import *  # noqa: F401,F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CDP_LOGIN_ATTEMPTS_PER_15_MINUTES = 1000
CDP_TASKS_INLINE = True  # tests see a queued task's outcome; tests/identity/test_runs_queued.py drives the real queue
