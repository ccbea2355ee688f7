"""One object that reads every setting from the environment.

Each accessor takes the embedded default that works on a laptop; secrets that production must
have go through `mandatory`, which fails at start-up with a message naming the variable.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Env:
    def __init__(self, environ: Mapping[str, str] | None = None):
        self._environ = os.environ if environ is None else environ

    def __contains__(self, name: str) -> bool:
        return bool(self._environ.get(name))

    def str(self, name: str, default: str = "") -> str:
        return self._environ.get(name, default) or default

    def bool(self, name: str, default: bool = False) -> bool:
        raw = self._environ.get(name)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")

    def int(self, name: str, default: int) -> int:
        raw = self._environ.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None

    def list(self, name: str, default: list[str] | None = None) -> list[str]:
        raw = self._environ.get(name)
        if raw is None or raw.strip() == "":
            return list(default or [])
        return [item.strip() for item in raw.split(",") if item.strip()]

    def mandatory(self, name: str) -> str:
        """A secret production cannot run without (Zulip's get_mandatory_secret)."""
        value = self._environ.get(name, "")
        if not value:
            raise ImproperlyConfigured(
                f"{name} is not set. Production settings need it; set it in the environment "
                f"(on Databricks: a secret resource bound in the app's config, infrastructure/databricks/apps/cdp-platform-app.yml)."
            )
        return value


env = Env()
